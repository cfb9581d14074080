; 8259 PIC + 8254 PIT: programs both, takes timer interrupts through an IDT,
; reads IRR/ISR with OCW3, checks a masked request waits in IRR and is
; delivered on unmask, and reads back PIT status and counts.
%include "platform.inc"
MULTIBOOT_HEADER

section .text
global _start
_start:
    mov esp, stack_top
    call setup_cpu
    call init_pic
    HANDLE 0x20, on_timer
    HANDLE 0x27, on_spurious

    ; PIT channel 0: mode 2, 1193 clocks (~1 kHz).
    mov al, 0x34
    out 0x43, al
    mov al, 1193 & 0xff
    out 0x40, al
    mov al, 1193 >> 8
    out 0x40, al
    ; Read-back status of channel 0: lo/hi access, mode 2, binary. OUT (bit 7) is left out:
    ; the 8254 holds OUT high in mode 2 except for the terminal-count clock, QEMU the reverse.
    mov al, 0xe2
    out 0x43, al
    in al, 0x40
    and al, 0x7f
    PRINT "pit status "
    call put_hex8
    call newline

    mov al, 0xfa               ; unmask IRQ0 (and the cascade)
    out 0x21, al
    sti
.wait:
    hlt
    cmp dword [ticks], 10
    jb .wait
    cli
    PRINT "ticks 10"
    call newline
    PRINT "isr in handler "
    mov al, [isr_seen]
    call put_hex8
    call newline

    ; Mask IRQ0: the next request waits in IRR. Poll for it (bounded, ~5 s) rather than
    ; waiting a fixed time: QEMU's timers can be starved while a vCPU busy-polls ports.
    mov al, 0xfb
    out 0x21, al
    mov al, 0x0a
    out 0x20, al
    mov ebx, 6000
.poll_irr:
    mov ecx, 1000
    call delay_pit
    in al, 0x20
    test al, 1
    jnz .irr_seen
    dec ebx
    jnz .poll_irr
.irr_seen:
    and al, 1
    PRINT "irr masked "
    call put_hex8
    call newline
    mov dword [ticks], 0
    mov al, 0xfa
    out 0x21, al
    sti
    hlt
    cli
    PRINT "delivered on unmask "
    mov eax, [ticks]
    call put_hex8
    call newline

    ; Latch channel 0 (mode 2, reload 1193): the count is always within 1..1193.
    mov al, 0x00
    out 0x43, al
    in al, 0x40
    mov ah, al
    in al, 0x40
    xchg al, ah
    PRINT "ch0 count in range "
    mov bl, 0
    cmp ax, 1
    jb .out_of_range
    cmp ax, 1193
    ja .out_of_range
    mov bl, 1
.out_of_range:
    mov al, bl
    call put_hex8
    call newline

    PRINT "pic-pit done"
    call newline
    mov al, 0x10
    jmp exit

on_timer:
    inc dword [ticks]
    cmp dword [ticks], 1
    jne .eoi
    mov al, 0x0b               ; OCW3: read ISR
    out 0x20, al
    in al, 0x20
    mov [isr_seen], al
.eoi:
    mov al, 0x20
    out 0x20, al
    ret

on_spurious:
    PRINT "spurious"
    call newline
    ret

section .data
ticks: dd 0
isr_seen: db 0

section .bss
align 16
    resb 8192
stack_top:

; Local APIC and IOAPIC: version and LVT count, the APIC timer one-shot and
; periodic with its current count, a self IPI, priority through TPR, then the
; PIT routed through IOAPIC pin 2 (ISA IRQ0 override) and the keyboard
; controller's IRQ1 as a level-triggered pin with remote IRR and EOI.
%include "platform.inc"
MULTIBOOT_HEADER

LAPIC equ 0xfee00000
IOAPIC equ 0xfec00000

%macro IOAPIC_WRITE 2
    mov dword [IOAPIC], %1
    mov eax, %2
    mov [IOAPIC + 0x10], eax
%endmacro
%macro IOAPIC_READ 1
    mov dword [IOAPIC], %1
    mov eax, [IOAPIC + 0x10]
%endmacro

section .text
global _start
_start:
    mov esp, stack_top
    call setup_cpu
    call init_pic
    mov al, 0xff               ; the 8259s stay out of this: everything masked
    out 0x21, al
    out 0xa1, al
    HANDLE 0x40, on_lapic_timer
    HANDLE 0x50, on_ipi
    HANDLE 0x60, on_ipi_low
    HANDLE 0x30, on_pit
    HANDLE 0x31, on_kbd
    HANDLE 0xff, on_spurious

    mov eax, [LAPIC + 0x30]
    PRINT "lapic version "
    call put_hex8
    PRINT " max lvt >= 5 "
    shr eax, 16
    cmp al, 5
    setae al
    call put_hex8
    call newline

    mov dword [LAPIC + 0xf0], 0x1ff  ; software enable, spurious vector 0xff
    mov dword [LAPIC + 0x350], 0x10700 ; LINT0 masked
    mov dword [LAPIC + 0x80], 0      ; TPR

    ; One-shot: the current count runs down from the initial count (a long one, so a host
    ; that deschedules the guest between the write and the read cannot run it out), then
    ; a short one-shot interrupts once and stops at zero.
    mov dword [LAPIC + 0x3e0], 0xb   ; divide by 1
    mov dword [LAPIC + 0x320], 0x10040 ; masked while probing
    mov dword [LAPIC + 0x380], 0x7fffffff
    mov eax, [LAPIC + 0x390]
    PRINT "one-shot counting "
    cmp eax, 0x7fffffff
    setbe bl
    cmp eax, 0
    seta al
    and al, bl
    call put_hex8
    call newline
    mov dword [LAPIC + 0x3e0], 0x3   ; divide by 16
    mov dword [LAPIC + 0x320], 0x40  ; one-shot, vector 0x40
    mov dword [LAPIC + 0x380], 200000
    sti
.wait1:
    hlt
    cmp dword [timer_ticks], 1
    jb .wait1
    mov ecx, 3000              ; more than the one-shot period: no second interrupt
    call delay_pit
    cli
    PRINT "one-shot ticks "
    mov eax, [timer_ticks]
    call put_hex8
    PRINT " ccr "
    mov eax, [LAPIC + 0x390]
    call put_hex32
    call newline

    ; Periodic: ten interrupts.
    mov dword [timer_ticks], 0
    mov dword [LAPIC + 0x320], 0x20040
    mov dword [LAPIC + 0x380], 100000
    sti
.wait2:
    hlt
    cmp dword [timer_ticks], 10
    jb .wait2
    cli
    mov dword [LAPIC + 0x320], 0x10040 ; masked
    PRINT "periodic ticks 10"
    call newline

    ; Self IPI, and TPR holding back a lower-class vector until it drops.
    mov dword [LAPIC + 0x80], 0x70
    mov dword [LAPIC + 0x300], 0x44060 ; fixed, self, vector 0x60
    mov dword [LAPIC + 0x300], 0x44050 ; vector 0x50 (also below TPR)
    sti
    mov ecx, 100
    call delay_pit
    cli
    PRINT "held by tpr "
    mov al, [ipi_order]
    call put_hex8
    mov eax, [LAPIC + 0xa0]
    PRINT " ppr "
    call put_hex8
    call newline
    mov dword [LAPIC + 0x80], 0
    sti
    hlt
    nop
    nop
    cli
    PRINT "ipi order "
    mov eax, [ipi_order]
    call put_hex32
    call newline

    ; IOAPIC: version and entries, then ISA IRQ0 on pin 2 → vector 0x30, physical APIC ID.
    IOAPIC_READ 1
    shr eax, 16
    PRINT "ioapic max entry "
    call put_hex8
    call newline
    mov eax, [LAPIC + 0x20]
    mov [apic_id], eax
    IOAPIC_WRITE 0x15, [apic_id]
    IOAPIC_WRITE 0x14, 0x30
    mov al, 0x34
    out 0x43, al
    mov al, 1193 & 0xff
    out 0x40, al
    mov al, 1193 >> 8
    out 0x40, al
    sti
.wait3:
    hlt
    cmp dword [pit_ticks], 10
    jb .wait3
    cli
    IOAPIC_WRITE 0x14, 0x10030
    PRINT "pit via ioapic pin 2 ticks 10"
    call newline

    ; Keyboard controller IRQ1 as a level-triggered pin: loop a byte back with 0xD2.
    IOAPIC_WRITE 0x13, [apic_id]
    IOAPIC_WRITE 0x12, 0x8031
.flush:
    in al, 0x64
    test al, 1
    jz .flushed
    in al, 0x60
    jmp .flush
.flushed:
    mov al, 0xd2
    out 0x64, al
    mov al, 0x5a
    out 0x60, al
    sti
.wait4:
    hlt
    cmp byte [kbd_byte], 0
    je .wait4
    cli
    PRINT "level irq1: remote irr in handler "
    mov al, [rirr_in_handler]
    call put_hex8
    PRINT " byte "
    mov al, [kbd_byte]
    call put_hex8
    IOAPIC_READ 0x12
    shr eax, 14
    and al, 1
    PRINT " remote irr after eoi "
    call put_hex8
    call newline

    PRINT "apic done"
    call newline
    mov al, 0x12
    jmp exit

on_lapic_timer:
    inc dword [timer_ticks]
    mov dword [LAPIC + 0xb0], 0
    ret

on_ipi:
    mov ebx, [ipi_count]
    mov byte [ipi_order + ebx], 0x50
    inc dword [ipi_count]
    mov dword [LAPIC + 0xb0], 0
    ret

on_ipi_low:
    mov ebx, [ipi_count]
    mov byte [ipi_order + ebx], 0x60
    inc dword [ipi_count]
    mov dword [LAPIC + 0xb0], 0
    ret

on_pit:
    inc dword [pit_ticks]
    mov dword [LAPIC + 0xb0], 0
    ret

on_kbd:
    IOAPIC_READ 0x12
    shr eax, 14
    and al, 1
    mov [rirr_in_handler], al
    in al, 0x60                ; reading the byte drops IRQ1
    mov [kbd_byte], al
    mov dword [LAPIC + 0xb0], 0
    ret

on_spurious:
    ret

section .data
timer_ticks: dd 0
pit_ticks: dd 0
ipi_count: dd 0
ipi_order: dd 0
apic_id: dd 0
kbd_byte: db 0
rirr_in_handler: db 0

section .bss
align 16
    resb 8192
stack_top:

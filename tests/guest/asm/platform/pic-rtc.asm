; MC146818 RTC through the slave 8259: register A/B/D contents after firmware,
; a plausible BCD date, periodic interrupts (IRQ8, vector 0x28) at 1024 Hz with
; register C read in the handler, and two update-ended interrupts one second
; of RTC time apart.
%include "platform.inc"
MULTIBOOT_HEADER

%macro CMOS_READ 1
    mov al, %1
    out 0x70, al
    in al, 0x71
%endmacro
%macro CMOS_WRITE 2
    mov al, %1
    out 0x70, al
    mov al, %2
    out 0x71, al
%endmacro

section .text
global _start
_start:
    mov esp, stack_top
    call setup_cpu
    call init_pic
    HANDLE 0x28, on_rtc

    CMOS_READ 0x0a
    and al, 0x7f               ; without UIP
    PRINT "reg a "
    call put_hex8
    CMOS_READ 0x0b
    PRINT " reg b "
    call put_hex8
    CMOS_READ 0x0d
    PRINT " reg d "
    call put_hex8
    call newline

    ; Wait for UIP to clear, then check every date byte is valid BCD in range.
.uip:
    CMOS_READ 0x0a
    test al, 0x80
    jnz .uip
    mov esi, date_regs
    mov bl, 1
.check:
    mov dl, [esi]              ; register
    cmp dl, 0xff
    je .checked
    mov al, dl
    out 0x70, al
    in al, 0x71
    mov ah, al
    and ah, 0x0f
    cmp ah, 9
    ja .bad
    mov ah, al
    shr ah, 4
    cmp ah, 9
    ja .bad
    cmp al, [esi + 1]          ; maximum
    ja .bad
    add esi, 2
    jmp .check
.bad:
    mov bl, 0
.checked:
    PRINT "date bcd valid "
    mov al, bl
    call put_hex8
    CMOS_READ 0x32
    PRINT " century "
    call put_hex8
    call newline

    ; Periodic interrupt at 1024 Hz: count 64 of them.
    CMOS_WRITE 0x0a, 0x26
    CMOS_WRITE 0x0b, 0x42      ; PIE, 24h, BCD
    CMOS_READ 0x0c             ; clear stale flags
    mov al, 0xfe               ; unmask IRQ8 on the slave
    out 0xa1, al
    sti
.wait_pf:
    hlt
    cmp dword [pf_count], 64
    jb .wait_pf
    cli
    CMOS_WRITE 0x0b, 0x02
    PRINT "periodic irqs 64, reg c "
    mov al, [last_c]
    and al, 0xf0 & ~0x10       ; IRQF and PF (an update may or may not have happened)
    call put_hex8
    call newline

    ; Update-ended interrupts: two of them, and the seconds register moves by one between.
    CMOS_READ 0x0c
    CMOS_WRITE 0x0b, 0x12      ; UIE
    mov dword [uf_count], 0
    sti
.wait_uf:
    hlt
    cmp dword [uf_count], 2
    jb .wait_uf
    cli
    CMOS_WRITE 0x0b, 0x02
    mov al, [uf_sec + 1]
    sub al, [uf_sec]
    das                        ; BCD difference
    cmp al, 0x01
    je .one
    cmp al, 0x41               ; 00 - 59 across a minute, in BCD
    je .one
    mov al, 0
    jmp .show
.one:
    mov al, 1
.show:
    PRINT "update irqs one second apart "
    call put_hex8
    call newline
    PRINT "pic-rtc done"
    call newline
    mov al, 0x11
    jmp exit

on_rtc:
    CMOS_READ 0x0c             ; acknowledges the RTC interrupt
    mov [last_c], al
    test al, 0x40
    jz .no_pf
    inc dword [pf_count]
.no_pf:
    test al, 0x10
    jz .eoi
    mov ebx, [uf_count]
    cmp ebx, 2
    jae .eoi
    CMOS_READ 0x00
    mov [uf_sec + ebx], al
    inc dword [uf_count]
.eoi:
    mov al, 0x20
    out 0xa0, al
    out 0x20, al
    ret

section .data
; register, maximum BCD value
date_regs: db 0x00, 0x59, 0x02, 0x59, 0x04, 0x23, 0x07, 0x31, 0x08, 0x12, 0x09, 0x99, 0xff
pf_count: dd 0
uf_count: dd 0
uf_sec: db 0, 0
last_c: db 0

section .bss
align 16
    resb 8192
stack_top:

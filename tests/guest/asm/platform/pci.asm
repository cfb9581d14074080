; PCI configuration mechanism #1: CONFIG_ADDRESS readback, enumeration of
; bus 0 (vendor:device, class, header type, interrupt pin), the PIIX3 PIRQ
; routing and ELCR firmware left, and the PIIX4 PM base.
%include "platform.inc"
MULTIBOOT_HEADER

section .text
global _start
_start:
    mov esp, stack_top
    call setup_cpu

    mov dx, 0xcf8
    mov eax, 0x80000000
    out dx, eax
    in eax, dx
    PRINT "config address "
    call put_hex32
    call newline

    xor ebx, ebx               ; device/function number << 8
.scan:
    mov eax, ebx
    call cfg_read              ; register 0
    cmp ax, 0xffff
    je .skip
    push eax
    mov eax, ebx
    shr eax, 11
    PRINT "00:"
    call put_hex8
    mov al, '.'
    call putc
    mov eax, ebx
    shr eax, 8
    and al, 7
    add al, '0'
    call putc
    call space
    pop eax
    call put_hex16
    mov al, ':'
    call putc
    shr eax, 16
    call put_hex16
    PRINT " class "
    lea eax, [ebx + 0x08]
    call cfg_read
    shr eax, 8
    call put_hex32
    PRINT " header "
    lea eax, [ebx + 0x0c]
    call cfg_read
    shr eax, 16
    call put_hex8
    PRINT " pin "
    lea eax, [ebx + 0x3c]
    call cfg_read
    shr eax, 8
    call put_hex8
    call newline
    ; A single-function device (header bit 7 clear on function 0) has nothing at 1–7.
    test ebx, 0x700
    jnz .skip
    lea eax, [ebx + 0x0c]
    call cfg_read
    test eax, 0x800000
    jnz .skip
    add ebx, 0x700
.skip:
    add ebx, 0x100
    cmp ebx, 0x10000
    jb .scan

    PRINT "pirq "
    mov eax, 0x0860            ; 00:01.0 register 0x60
    call cfg_read
    call put_hex32
    PRINT " elcr "
    mov dx, 0x4d0
    in al, dx
    call put_hex8
    inc dx
    in al, dx
    call put_hex8
    call newline

    PRINT "pm base "
    mov eax, 0x0b40            ; 00:01.3 register 0x40
    call cfg_read
    call put_hex16
    PRINT " enabled "
    mov eax, 0x0b80
    call cfg_read
    and al, 1
    call put_hex8
    PRINT " sci line "
    mov eax, 0x0b3c
    call cfg_read
    call put_hex8
    call newline

    ; Word and byte accesses through 0xCFC–0xCFF.
    mov dx, 0xcf8
    mov eax, 0x80000800
    out dx, eax
    mov dx, 0xcfe
    in ax, dx
    PRINT "word at 01.0+2 "
    call put_hex16
    mov dx, 0xcfd
    in al, dx
    PRINT " byte at +1 "
    call put_hex8
    call newline

    ; Nothing answers on bus 1: all-ones.
    mov eax, 0x10000
    call cfg_read
    PRINT "bus 1 "
    call put_hex32
    call newline
    PRINT "pci done"
    call newline
    mov al, 0x13
    jmp exit

; cfg_read: EAX = bus/device/function/register (no enable bit); returns the dword in EAX.
cfg_read:
    push edx
    or eax, 0x80000000
    and eax, 0xfffffffc
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    pop edx
    ret

section .bss
align 16
    resb 8192
stack_top:

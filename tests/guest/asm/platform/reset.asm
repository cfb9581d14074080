; Machine reset requests: the kernel command line picks the path — "cf9"
; writes 0x06 to the PIIX reset control register, "kbc" pulses the 8042's
; reset line with 0xFE. Run with rebooting disabled, the emulator exits 0.
%include "platform.inc"
MULTIBOOT_HEADER

section .text
global _start
_start:
    mov esp, stack_top
    mov esi, [ebx + 16]        ; multiboot command line
    call setup_cpu
.word:                         ; the last word of the command line names the method
    mov al, [esi]
    test al, al
    jz .pick
    inc esi
    cmp al, ' '
    jne .word
    mov [method], esi
    jmp .word
.pick:
    mov esi, [method]
    test esi, esi
    jz .none
    cmp dword [esi], 'cf9'
    je .cf9
    cmp dword [esi], 'kbc'
    je .kbc
.none:
    PRINT "no reset method"
    call newline
    mov al, 1
    jmp exit
.cf9:
    PRINT "reset via 0xcf9"
    call newline
    mov dx, 0xcf9
    mov al, 0x02
    out dx, al
    mov al, 0x06
    out dx, al
    jmp .hang
.kbc:
    PRINT "reset via the keyboard controller"
    call newline
    mov al, 0xfe
    out 0x64, al
.hang:
    mov ecx, 60000
    call delay_pit
    PRINT "no reset happened"
    call newline
    mov al, 2
    jmp exit

section .data
method: dd 0

section .bss
align 16
    resb 8192
stack_top:

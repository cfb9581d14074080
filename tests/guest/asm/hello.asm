; The smallest useful guest: prints over COM1 and exits with a status the
; test checks, using only a few basic instructions.
%include "multiboot.inc"
MULTIBOOT_HEADER

section .text
global _start
_start:
    mov esp, stack_top
    cmp eax, 0x2BADB002        ; the loader's multiboot magic
    jne .bad
    mov esi, msg
    call puts
    mov ecx, 5                 ; a loop, to show branches and the lazy flags work
.count:
    mov al, '0'
    add al, cl
    call putc
    dec ecx
    jnz .count
    mov al, 10
    call putc
    mov al, 0x21               ; exit status (0x21 << 1) | 1 = 67
    jmp exit
.bad:
    mov esi, badmsg
    call puts
    mov al, 1
    jmp exit

section .data
msg: db "hello from ts86 multiboot", 10, 0
badmsg: db "bad multiboot magic", 10, 0

section .bss
align 16
    resb 4096
stack_top:

; A runaway guest: prints one line, then spins forever with interrupts off.
%include "multiboot.inc"
MULTIBOOT_HEADER

section .text
global _start
_start:
    mov esp, stack_top
    mov esi, msg
    call puts
    cli
.forever:
    jmp .forever

section .data
msg: db "spinning", 10, 0

section .bss
align 16
    resb 1024
stack_top:

; A triple fault: with an empty IDT, #UD cannot be delivered (#GP), nor can
; that #GP (#DF), nor the #DF: the CPU shuts down and the machine resets.
; Run with -no-reboot / --no-reboot, both emulators then exit with status 0.

%include "system/sys.inc"

section .text
global _start
_start:
    mov esp, kernel_stack_top
    call sys_init
    PRINTS "before the triple fault", 10
    lidt [empty_idtr]
    ud2
    PRINTS "not reached", 10
    mov al, 1
    jmp exit

section .data
empty_idtr:
    dw 0
    dd idt

; Virtual-8086 mode: entered by IRETD with VM set; a ring-0 monitor handles
; the #GP faults of IOPL-sensitive instructions (CLI, PUSHF, POPF, INT n,
; IRET at IOPL < 3), I/O through the TSS permission bitmap (allowed and
; denied ports), INT n to a DPL-3 gate at IOPL 3 with the V86 frame
; (segment registers saved, data segments nulled), INT3 checked against the
; gate DPL instead of IOPL, an exception from V86, and HLT to leave.

%include "system/sys.inc"

V86_CS   equ 0x0200                     ; the V86 code is copied to linear 0x2000
V86_SS   equ 0x0300                     ; its stack: 0x3000-0x3fff
V86_BASE equ V86_CS * 16

section .text
global _start
_start:
    mov esp, kernel_stack_top
    call sys_init
    mov dword [exc_hook], v86_monitor
    ; INT 0x21 from V86 at IOPL 3 lands here (DPL-3 trap gate).
    mov ebx, 0x21
    mov eax, int21_handler
    mov dx, SEL_CODE0
    mov cx, 0xef00
    call set_idt_gate

    ; Copy the V86 program below 1 MiB.
    mov esi, v86_code
    mov edi, V86_BASE
    mov ecx, v86_code_end - v86_code
.copy:
    mov al, [esi]
    mov [edi], al
    inc esi
    inc edi
    dec ecx
    jnz .copy

    PRINTS "entering v86", 10
    mov [v86_esp], esp
    push dword 0x1111                   ; GS
    push dword 0x2222                   ; FS
    push dword V86_CS                   ; DS
    push dword 0x4444                   ; ES
    push dword V86_SS                   ; SS
    push dword 0x1000                   ; ESP
    push dword 0x20002                  ; EFLAGS: VM, IOPL 0, IF 0
    push dword V86_CS                   ; CS
    push dword 0                        ; EIP
    iretd

after_v86:
    PRINTS "back in protected mode", 10
    SHOW "cs", cs, 4
    SHOW "ds", ds, 4
    pushfd
    pop eax
    and eax, 0x23000                    ; VM and IOPL
    SHOW "eflags vm/iopl", eax, 8
    mov al, EXIT_PASS
    jmp exit

; exc_hook: the V86 monitor. For #GP and #UD from V86 mode it looks at the
; faulting instruction and emulates just enough; HLT ends the V86 session.
v86_monitor:
    test dword [ebp + EXC_EFLAGS], 0x20000
    jz .not_v86
    ; linear CS:IP
    mov eax, [ebp + EXC_CS]
    add eax, eax
    add eax, eax
    add eax, eax
    add eax, eax
    add eax, [ebp + EXC_EIP]
    movzx ebx, byte [eax]
    SHOW "  opcode", ebx, 2
    cmp dword [ebp + EXC_VECTOR], 6
    je .skip2                           ; UD2
    cmp ebx, 0xf4
    je .leave_v86
    cmp ebx, 0xcd
    je .int_n
    cmp ebx, 0xe4
    je .skip2                           ; IN AL, imm8 (denied port)
    cmp ebx, 0xcc
    je .skip1
    cmp ebx, 0xcf
    je .iret_request
.skip1:
    inc dword [ebp + EXC_EIP]
    ret
.skip2:
    add dword [ebp + EXC_EIP], 2
    ret
.int_n:
    ; The V86 program asks for IOPL 3 with INT n: grant it and let INT n run again.
    or dword [ebp + EXC_EFLAGS], 0x3000
    PRINTS "  monitor: IOPL 3", 10
    ret
.iret_request:
    ; IRET at IOPL < 3: do it for the program (pop IP, CS, FLAGS from its stack).
    mov eax, [ebp + EXC_SS]
    add eax, eax
    add eax, eax
    add eax, eax
    add eax, eax
    add eax, [ebp + EXC_ESP]
    movzx ebx, word [eax]
    mov [ebp + EXC_EIP], ebx
    movzx ebx, word [eax + 2]
    mov [ebp + EXC_CS], ebx
    add dword [ebp + EXC_ESP], 6
    PRINTS "  monitor: emulated iret", 10
    ret
.leave_v86:
    PRINTS "  monitor: hlt, leaving v86", 10
    mov esp, [v86_esp]
    jmp after_v86
.not_v86:
    ret

int21_handler:
    ; Frame: EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS (all 32-bit slots).
    mov ebx, ds                         ; null: V86 selectors mean nothing in protected mode
    mov ax, SEL_DATA0
    mov ds, ax
    SHOW "int21 ds on entry", ebx, 4
    SHOW "int21 cs", cs, 4
    SHOW "int21 frame ip", [esp], 8
    SHOW "int21 frame cs", [esp + 4], 4
    mov eax, [esp + 8]
    and eax, 0xfffeffff
    SHOW "int21 frame eflags", eax, 8
    SHOW "int21 frame sp", [esp + 12], 8
    SHOW "int21 frame ss", [esp + 16], 4
    SHOW "int21 frame es", [esp + 20], 4
    SHOW "int21 frame ds", [esp + 24], 4
    SHOW "int21 frame fs", [esp + 28], 4
    SHOW "int21 frame gs", [esp + 32], 4
    iretd

section .data
v86_esp: dd 0

; ---------------------------------------------------------------- the V86 program
; Position independent: data is addressed relative to v86_code through DS = CS.
section .text
bits 16
v86_code:
    mov si, msg_hello - v86_code
    call p16_puts
    mov ax, cs
    call p16_hex
    mov ax, ss
    call p16_hex
    mov ax, es
    call p16_hex
    mov ax, fs
    call p16_hex
    mov ax, gs
    call p16_hex
    mov al, 10
    call p16_putc
    ; Real-mode style addressing: FFFF:0010 is linear 0x100000 (the kernel's first byte).
    push ds
    mov ax, 0xffff
    mov ds, ax
    mov al, [0x0010]
    pop ds
    mov ah, 0
    call p16_hex
    mov al, 10
    call p16_putc

    cli                                 ; IOPL 0: #GP
    pushf                               ; #GP
    popf                                ; #GP
    in al, 0x80                         ; port 0x80 is not in the bitmap: #GP
    ud2                                 ; #UD, from V86 to the ring-0 handler
    int3                                ; not IOPL-sensitive: gate DPL 0 < 3, #GP(0x1a)
    push word 0
    push cs
    push word .after_iret - v86_code
    iret                                ; IOPL 0: #GP, the monitor emulates it
.after_iret:
    mov si, msg_iopl - v86_code
    call p16_puts
    int 0x21                            ; #GP; the monitor sets IOPL 3; then through the IDT
    cli
    sti
    pushf
    pop ax
    and ax, 0x3200                      ; IOPL and IF
    call p16_hex
    mov al, 10
    call p16_putc
    in al, 0x80                         ; still denied: the bitmap decides in V86 mode
    push word 0x3002
    push cs
    push word .after_iret3 - v86_code
    iret                                ; IOPL 3: a real IRET
.after_iret3:
    mov si, msg_done - v86_code
    call p16_puts
    hlt                                 ; #GP: the monitor ends the session

    PRINT16_HELPERS v86_code

msg_hello: db "v86 hello: ", 0
msg_iopl: db "v86: asking for IOPL 3", 10, 0
msg_done: db "v86 done", 10, 0
v86_code_end:
bits 32

; Virtual-8086 mode extensions (CR4.VME) and protected-mode virtual
; interrupts (CR4.PVI). QEMU 7.2's TCG does not implement them, so this
; kernel's transcript is checked against expected text (SDM 20.3, 20.4).
; At IOPL 0 with VME: CLI/STI/PUSHF/POPF/IRET work on VIF without faulting,
; PUSHF shows VIF as IF and IOPL as 3; INT n whose bit in the TSS
; redirection bitmap is clear goes to the V86 program's own IVT; a set bit
; still faults; STI with VIP set and 32-bit PUSHFD fault. With PVI, CLI/STI
; at CPL 3 change VIF.

%macro TEST_GDT_ENTRIES 0
    SEGDESC 0, VME_TSS_LIMIT, 0x89, 0x0 ; 0x40 TSS with a redirection bitmap
%endmacro
SEL_VMETSS equ 0x40

%include "system/sys.inc"

V86_CS   equ 0x0200
V86_BASE equ V86_CS * 16

section .text
global _start
_start:
    mov esp, kernel_stack_top
    call sys_init
    mov dword [exc_hook], vme_monitor
    mov edi, gdt + SEL_VMETSS
    mov eax, vme_tss
    call set_desc_base
    mov dword [vme_tss + 4], ring0_stack_top
    mov ax, SEL_VMETSS
    ltr ax
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
    ; The V86 program's IVT at linear 0: vector 0x30 -> its own handler.
    mov word [0x30 * 4], v86_int30 - v86_code
    mov word [0x30 * 4 + 2], V86_CS
    mov eax, cr4
    or eax, 0x1                         ; VME
    mov cr4, eax

    mov [v86_esp], esp
    push dword 0
    push dword 0
    push dword V86_CS                   ; DS
    push dword 0
    push dword 0x0300                   ; SS
    push dword 0x1000                   ; ESP
    push dword 0x20002                  ; VM, IOPL 0, IF 0, VIF 0
    push dword V86_CS
    push dword 0
    iretd

after_v86:
    PRINTS "-- pvi", 10
    mov eax, cr4
    or eax, 0x2                         ; PVI
    mov cr4, eax
    mov eax, pvi_user
    call run_user
    mov al, EXIT_PASS
    jmp exit

pvi_user:
    cli
    pushfd
    pop eax
    and eax, 0x80200
    SHOW "cpl3 cli: vif|if", eax, 8
    sti
    pushfd
    pop eax
    and eax, 0x80200
    SHOW "cpl3 sti: vif|if", eax, 8
    int 0x7f

; exc_hook: a minimal V86 monitor.
vme_monitor:
    test dword [ebp + EXC_EFLAGS], 0x20000
    jz .done
    mov eax, [ebp + EXC_EFLAGS]
    and eax, 0x180200
    SHOW "  vip|vif|if", eax, 8
    mov eax, [ebp + EXC_CS]
    add eax, eax
    add eax, eax
    add eax, eax
    add eax, eax
    add eax, [ebp + EXC_EIP]
    movzx ebx, byte [eax]
    cmp ebx, 0xf4
    je .leave
    cmp ebx, 0xcd
    je .int_n
    cmp ebx, 0xfb
    je .sti
    add dword [ebp + EXC_EIP], 2        ; 66 9C (PUSHFD)
    ret
.int_n:
    PRINTS "  monitor: INT n not redirected; posting a virtual interrupt (VIP)", 10
    or dword [ebp + EXC_EFLAGS], 0x100000
    add dword [ebp + EXC_EIP], 2
    ret
.sti:
    PRINTS "  monitor: STI with VIP; delivering it, VIF on", 10
    and dword [ebp + EXC_EFLAGS], ~0x100000
    or dword [ebp + EXC_EFLAGS], 0x80000
    inc dword [ebp + EXC_EIP]
    ret
.leave:
    PRINTS "  monitor: hlt", 10
    mov esp, [v86_esp]
    jmp after_v86
.done:
    ret

section .data
v86_esp: dd 0
align 4
vme_tss:
    dd 0, 0, SEL_DATA0                  ; link, ESP0 (set at run time), SS0
    times 22 dd 0
    dw 0
    dw vme_iomap - vme_tss              ; I/O map base; the redirection bitmap is the 32 bytes below
vme_redirect:
    times 6 db 0xff
    db 0xfe                             ; vector 0x30: redirected to the V86 IVT
    times 32 - 7 db 0xff
vme_iomap:
    times 0x1e db 0xff
    db 0x0f
    times 0x7f - 0x1f db 0xff
    db 0x00
    db 0xff
vme_tss_end:
VME_TSS_LIMIT equ vme_tss_end - vme_tss - 1

; ---------------------------------------------------------------- the V86 program
section .text
bits 16
v86_code:
    mov si, msg_hello - v86_code
    call p16_puts
    cli                                 ; VIF = 0, no fault
    call show_flags
    sti                                 ; VIF = 1
    call show_flags
    push word 0x0002
    popf                                ; IF image 0 -> VIF = 0
    call show_flags
    sti
    int 0x30                            ; redirected to v86_int30 through the V86 IVT
    call show_flags                     ; VIF back from the IRET image
    int 0x31                            ; bitmap bit set at IOPL 0: #GP
    cli
    sti                                 ; VIP set by the monitor: #GP
    call show_flags
    pushfd                              ; 32-bit PUSHF at IOPL < 3: #GP
    mov si, msg_done - v86_code
    call p16_puts
    hlt

; show_flags: FLAGS as the V86 program sees them, IOPL and IF only.
show_flags:
    push ax
    pushf
    pop ax
    and ax, 0x3200
    call p16_hex
    mov al, 10
    call p16_putc
    pop ax
    ret

v86_int30:
    push bp
    mov bp, sp
    mov si, msg_int30 - v86_code
    call p16_puts
    mov ax, [bp + 6]                    ; the FLAGS image pushed by INT
    and ax, 0x3200
    call p16_hex
    call show_flags                     ; VIF cleared on entry
    pop bp
    iret

    PRINT16_HELPERS v86_code

msg_hello: db "v86 with VME", 10, 0
msg_int30: db "v86 int 0x30 handler, pushed flags: ", 0
msg_done: db "v86 done", 10, 0
v86_code_end:
bits 32

; Protected mode -> real mode -> protected mode: through a 16-bit protected
; code segment, CR0.PE cleared and CS reloaded by a far jump; in real mode a
; private IVT (LIDT), INT n and IRET, #UD through the IVT (UD2 and LAR, which
; real mode does not know), "unreal" FS left 4 GiB by protected mode, the A20
; gate through port 0x92 (FFFF:0510 wraps to 0000:0500 when it is off); and
; back to 32-bit protected mode with a far jump.

%include "system/sys.inc"

RM_SEG  equ 0x0200                      ; the real-mode code runs at linear 0x2000
RM_BASE equ RM_SEG * 16
RM_IVT  equ 0x4000                      ; its IVT (LIDT base) and stack below it
RM_STACK_SEG equ 0x0300

section .text
global _start
_start:
    mov esp, kernel_stack_top
    call sys_init
    mov esi, rm_code
    mov edi, RM_BASE
    mov ecx, rm_code_end - rm_code
.copy:
    mov al, [esi]
    mov [edi], al
    inc esi
    inc edi
    dec ecx
    jnz .copy
    PRINTS "protected mode, going to real mode", 10
    mov [saved_esp], esp
    mov ax, SEL_DATA0
    mov fs, ax                          ; flat 4 GiB: survives into real mode as "unreal" FS
    jmp SEL_CODE16:RM_BASE + (pm16_entry - rm_code)

back_in_pm:
    mov ax, SEL_DATA0
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, [saved_esp]
    lidt [idtr]
    PRINTS "back in protected mode", 10
    SHOW "cs", cs, 4
    mov eax, cr0
    and eax, 1
    SHOW "cr0.pe", eax, 1
    SHOW "value left by real mode", [0x500], 4
    mov al, EXIT_PASS
    jmp exit

section .data
saved_esp: dd 0

; ---------------------------------------------------------------- 16-bit code, copied to RM_BASE
section .text
bits 16
rm_code:
pm16_entry:
    ; 16-bit protected mode: give DS/ES/SS real-mode-like caches, then leave protected mode.
    mov ax, SEL_DATA16
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr0
    and eax, 0xfffffffe
    mov cr0, eax
    jmp RM_SEG:(rm_entry - rm_code)

rm_entry:
    mov ax, RM_SEG
    mov ds, ax
    mov es, ax
    mov ax, RM_STACK_SEG
    mov ss, ax
    mov sp, 0x1000
    mov si, msg_real - rm_code
    call p16_puts
    mov ax, cs
    call p16_hex
    mov eax, cr0
    and ax, 1
    call p16_hex
    call nl16

    ; A private IVT: vector 6 (#UD) and vector 0x30.
    lidt [rm_idtr - rm_code]
    push ds
    xor ax, ax
    mov ds, ax
    mov word [RM_IVT + 6 * 4], rm_ud_handler - rm_code
    mov word [RM_IVT + 6 * 4 + 2], RM_SEG
    mov word [RM_IVT + 0x30 * 4], rm_int30 - rm_code
    mov word [RM_IVT + 0x30 * 4 + 2], RM_SEG
    pop ds

    mov ax, 0x1234
    int 0x30
int30_ret:
    call p16_hex                        ; AX as the handler left it
    call nl16
    mov byte [ud_skip - rm_code], 2
    ud2
    mov byte [ud_skip - rm_code], 3
    lar ax, bx                          ; protected-mode only: #UD in real mode
    mov si, msg_after_ud - rm_code
    call p16_puts

    ; Unreal mode: FS still has the 4 GiB limit protected mode gave it.
    xor ax, ax
    a32 mov ax, [fs:0x100002]           ; the kernel's multiboot magic, high half
    call p16_hex
    mov ax, fs
    call p16_hex
    call nl16

    ; A20: with the gate off, FFFF:0510 is 0000:0500.
    push es
    xor ax, ax
    mov es, ax
    mov word [es:0x500], 0x1111
    mov ax, 0xffff
    mov es, ax
    mov word [es:0x510], 0x2222
    xor ax, ax
    mov es, ax
    mov ax, [es:0x500]
    call p16_hex                        ; 1111: A20 on, no wrap
    in al, 0x92
    and al, 0xfd
    out 0x92, al                        ; A20 off
    mov ax, 0xffff
    mov es, ax
    mov word [es:0x510], 0x3333
    xor ax, ax
    mov es, ax
    mov ax, [es:0x500]
    call p16_hex                        ; 3333: wrapped
    in al, 0x92
    or al, 0x02
    out 0x92, al                        ; A20 back on
    mov ax, 0xffff
    mov es, ax
    mov ax, [es:0x510]
    call p16_hex                        ; 2222: the high copy is back
    pop es
    call nl16

    ; Back to protected mode.
    cli
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp dword SEL_CODE0:back_in_pm

rm_int30:
    push ax
    mov si, msg_int30 - rm_code
    call p16_puts
    mov bp, sp
    mov ax, [bp + 2]                    ; return IP
    sub ax, int30_ret - rm_code         ; 0 if it points after our INT 0x30
    call p16_hex
    mov ax, [bp + 4]                    ; return CS
    call p16_hex
    call nl16
    pop ax
    add ax, 1
    iret

rm_ud_handler:
    push bp
    push ax
    push bx
    mov bp, sp
    mov si, msg_ud - rm_code
    call p16_puts
    mov ax, [bp + 8]                    ; CS
    call p16_hex
    call nl16
    xor bx, bx
    mov bl, [ud_skip - rm_code]
    add [bp + 6], bx                    ; skip the instruction
    pop bx
    pop ax
    pop bp
    iret

nl16:
    push ax
    mov al, 10
    call p16_putc
    pop ax
    ret

    PRINT16_HELPERS rm_code

rm_idtr:
    dw 0x3ff
    dd RM_IVT
msg_real: db "real mode: cs, cr0.pe = ", 0
msg_int30: db "int 0x30 in real mode, ret ip delta, cs: ", 0
msg_ud: db "#UD in real mode from cs ", 0
msg_after_ud: db "after #UD", 10, 0
ud_skip: db 0
rm_code_end:
bits 32

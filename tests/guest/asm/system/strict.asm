; Behaviour the SDM specifies but QEMU (TCG) does not model, so this
; kernel's transcript is checked against expected text instead of against
; QEMU: data-segment limits (expand-down, granular, null), stack limits and
; room checks on the stacks that interrupts and call gates switch to, the EXT
; bit of error codes, a handler beyond its code limit, LTR with a null
; selector, the TSS T bit, the accessed bit set by CS loads, RF in the
; EFLAGS image of faults, and IRET to V86 mode with EIP above 0xFFFF.
;
; #SS goes through a task gate here: a stack fault cannot be handled on the
; stack that faulted. The fault task prints the error code, repairs the
; interrupted task's saved state in TSS0 (resume point, stack, SS) and IRETs.

%macro TEST_GDT_ENTRIES 0
    SEGDESC 0, 0x0fff, 0x97, 0x4        ; 0x40 data RW expand-down, B=1, limit 0xfff
    SEGDESC 0, 0x00ff, 0x97, 0x0        ; 0x48 data RW expand-down, B=0, limit 0xff
    SEGDESC 0, 0x00001, 0x93, 0x8       ; 0x50 data RW, G=1, limit 1 -> 0x1fff
    SEGDESC 0, 0x0fff, 0x93, 0x4        ; 0x58 data RW, byte granular, limit 0xfff (a small stack)
    SEGDESC 0, 0xfffff, 0x9b, 0x4       ; 0x60 code, 1 MiB limit (byte granular)
    SEGDESC 0, 0x67, 0x89, 0x0          ; 0x68 TSS of the fault task (base set at run time)
    SEGDESC 0, 0x67, 0x89, 0x0          ; 0x70 TSS with the T bit (base set at run time)
    SEGDESC 0, 0xfffff, 0x9a, 0xc       ; 0x78 ring-0 code, accessed bit clear
    GATEDESC SEL_CODE0, 0, 0xec         ; 0x80 call gate DPL 3 -> ring 0 (offset set at run time)
%endmacro
SEL_SMALLSTACK equ 0x58
SEL_SMALLCODE  equ 0x60
SEL_FAULTTASK  equ 0x68
SEL_TRAPTASK   equ 0x70
SEL_FRESHCODE  equ 0x78
SEL_GATE       equ 0x80

%include "system/sys.inc"

section .text
global _start
_start:
    mov esp, kernel_stack_top
    call sys_init
    mov edi, gdt + SEL_FAULTTASK
    mov eax, fault_tss
    call set_desc_base
    mov dword [fault_tss + 0x20], fault_task
    mov dword [fault_tss + 0x38], fault_stack_top
    mov edi, gdt + SEL_TRAPTASK
    mov eax, trap_tss
    call set_desc_base
    mov edi, gdt + SEL_GATE
    mov eax, never
    call set_gate_offset
    mov dword [exc_hook], show_extra
    mov ebx, 12                         ; #SS: task gate to the fault task
    mov dx, SEL_FAULTTASK
    mov cx, 0x8500
    call set_idt_gate

    PRINTS "-- data limits", 10
    mov ax, 0x40
    mov es, ax
    mov eax, [es:0x1000]
    PRINTS "expand-down 1000 ok", 10
    EXPECT_FAULT .e1
    mov eax, [es:0x0ffd]                ; first byte inside the limit: #GP(0)
.e1:
    mov eax, [es:0xfffffffc]
    PRINTS "expand-down fffffffc ok", 10
    mov ax, 0x48
    mov es, ax
    mov ax, [es:0xfffe]
    PRINTS "expand-down16 fffe ok", 10
    EXPECT_FAULT .e2
    mov eax, [es:0xfffe]                ; runs past 0xffff (B=0)
.e2:
    EXPECT_FAULT .e3
    mov al, [es:0x00ff]
.e3:
    mov ax, 0x50
    mov es, ax
    mov eax, [es:0x1ffc]
    PRINTS "granular 1ffc ok", 10
    EXPECT_FAULT .e4
    mov eax, [es:0x1ffd]
.e4:
    EXPECT_FAULT .e5
    mov byte [es:0x2000], 0
.e5:
    xor eax, eax
    mov es, ax
    EXPECT_FAULT .e6
    mov eax, [es:0]                     ; null selector: #GP(0)
.e6:
    EXPECT_FAULT .e7
    mov ax, 0
    ltr ax                              ; LTR null: #GP(0)
.e7:

    PRINTS "-- stack limits", 10
    mov ax, 0x40                        ; expand-down SS: ESP is valid, EBP below the limit is not
    mov ss, ax
    mov ebp, 0x0ffc
    mov dword [resume_eip], .s1
    mov dword [resume_esp], esp
    mov eax, [ebp]                      ; #SS(0)
.s1:
    mov ax, SEL_DATA0
    mov ss, ax
    mov ax, SEL_SMALLSTACK
    mov ss, ax
    mov esp, 0x1002
    mov dword [resume_eip], .s2
    mov dword [resume_esp], kernel_stack_top - 64
    push eax                            ; 0xffe..0x1001 crosses the limit: #SS(0)
.s2:
    mov ax, SEL_DATA0
    mov ss, ax
    mov esp, kernel_stack_top - 64

    PRINTS "-- stack faults during delivery", 10
    ; Ring 3 -> ring 0 with a ring-0 stack that has no room: #SS(new SS), EXT per event.
    mov dword [tss0 + 4], 0x0008
    mov dword [tss0 + 8], SEL_SMALLSTACK
    mov ebx, 0x80
    mov eax, never
    mov dx, SEL_CODE0
    mov cx, 0xee00
    call set_idt_gate
    mov eax, user_faults
    call run_user
    mov dword [tss0 + 4], 0x0008
    mov dword [tss0 + 8], SEL_SMALLSTACK
    mov eax, user_faults_ext
    call run_user
    mov dword [tss0 + 4], 0x000c
    mov dword [tss0 + 8], SEL_SMALLSTACK
    mov eax, user_faults_gate
    call run_user

    PRINTS "-- handler beyond its code limit", 10
    mov ebx, 0x81
    mov eax, 0x200000
    mov dx, SEL_SMALLCODE
    mov cx, 0x8e00
    call set_idt_gate
    EXPECT_FAULT .h1
    int 0x81                            ; #GP(0): software interrupt, EXT clear
.h1:
    mov ebx, 6
    call set_idt_gate
    EXPECT_FAULT .h2
    ud2                                 ; #UD's handler is out of bounds: #GP(EXT)
.h2:
    mov ebx, 6
    mov eax, exc_stub_6
    mov dx, SEL_CODE0
    call set_idt_gate

    PRINTS "-- idt limit and absent gates", 10
    mov ebx, 1
    mov eax, never
    mov cx, 0x0e00                      ; not present
    call set_idt_gate
    EXPECT_FAULT .i1
    int1                                ; ICEBP is delivered like a hardware event: #NP(1*8+2+EXT)
.i1:
    EXPECT_FAULT .i2
    int 1                               ; the same gate through INT n: #NP(0x0a), EXT clear
.i2:
    mov ebx, 1
    mov eax, exc_stub_1
    mov cx, 0x8e00
    call set_idt_gate
    lidt [small_idtr]
    EXPECT_FAULT .i3
    int 0x40                            ; beyond the IDT limit: #GP(0x40*8+2)
.i3:
    lidt [idtr]

    PRINTS "-- T bit", 10
    call SEL_TRAPTASK:0                 ; #DB (DR6.BT) before the task's first instruction
    PRINTS "back from the T-bit task", 10

    PRINTS "-- accessed bit", 10
    mov ax, SEL_FRESHCODE
    lar eax, ax
    SHOW "ar before", eax, 8
    call SEL_FRESHCODE:fresh_code
    mov ax, SEL_FRESHCODE
    lar eax, ax
    SHOW "ar after far call", eax, 8

    PRINTS "-- RF in fault frames", 10
    EXPECT_FAULT .r1
    jmp 0:0                             ; a fault: RF = 1 in the image
.r1:

    PRINTS "-- IRET to V86 with EIP above 0xffff", 10
    EXPECT_FAULT .v1
    push dword 0
    push dword 0
    push dword 0
    push dword 0
    push dword 0
    push dword 0x100
    push dword 0x20002
    push dword 0
    push dword 0x10000
    iretd                               ; #GP(0)
.v1:
    mov esp, kernel_stack_top - 64
    mov al, EXIT_PASS
    jmp exit

fresh_code:
    retf

trap_task:
    PRINTS "in the T-bit task", 10
    iretd
    jmp trap_task

; exc_hook: DR6 for #DB, the RF bit of the image for #GP.
show_extra:
    cmp dword [ebp + EXC_VECTOR], 1
    jne .not_db
    mov eax, dr6
    and eax, 0xe00f
    SHOW "  dr6", eax, 4
    mov eax, [ebp + EXC_EIP]
    sub eax, trap_task
    SHOW "  eip - trap_task", eax, 8
    ret
.not_db:
    cmp dword [ebp + EXC_VECTOR], 13
    jne .done
    mov eax, [ebp + EXC_EFLAGS]
    and eax, 0x10000
    SHOW "  eflags.rf", eax, 8
.done:
    ret

never:
    PRINTS "handler must not run", 10
    mov al, 1
    jmp exit

user_faults:
    mov dword [resume_eip], .u1
    mov dword [resume_esp], user_stack_top
    int 0x80                            ; INT n: #SS(0x58)
.u1:
    int 0x7f

user_faults_gate:
    mov dword [resume_eip], .u1
    mov dword [resume_esp], user_stack_top
    call SEL_GATE | 3:0                 ; 16 bytes do not fit below ESP0 = 0xc: #SS(0x58)
.u1:
    int 0x7f

user_faults_ext:
    mov dword [resume_eip], .u1
    mov dword [resume_esp], user_stack_top
    ud2                                 ; an exception: #SS(0x58 | EXT)
.u1:
    int 0x7f

; The #SS task. TSS0 holds the interrupted state; the fault task puts it back
; on its feet: EIP from resume_eip, ESP from resume_esp, SS to a flat one
; matching the saved CS's privilege, and returns to it with IRET (NT set).
fault_task:
    mov eax, [esp]                      ; the error code the switch pushed
    SHOW "#SS task err", eax, 4
    mov eax, [resume_eip]
    mov [tss0 + 0x20], eax
    mov eax, [resume_esp]
    mov [tss0 + 0x38], eax
    ; Ring 0 gets its proper stack back for whatever runs next.
    mov dword [tss0 + 4], ring0_stack_top
    mov dword [tss0 + 8], SEL_DATA0
    mov eax, [tss0 + 0x4c]              ; saved CS
    and eax, 3
    mov dword [tss0 + 0x50], SEL_DATA0
    jz .ring0
    mov dword [tss0 + 0x50], SEL_DATA3 | 3
.ring0:
    add esp, 4
    iretd
    jmp fault_task                      ; the next fault enters here again

section .data
small_idtr:
    dw 0x40 * 8 - 1
    dd idt
resume_esp: dd 0
align 4
fault_tss:
    dd 0, 0, 0, 0, 0, 0, 0
    dd 0                                ; CR3
    dd 0                                ; EIP (set at run time)
    dd 0x2                              ; EFLAGS
    dd 0, 0, 0, 0, 0, 0, 0, 0           ; EAX .. EDI (ESP set at run time)
    dd SEL_DATA0, SEL_CODE0, SEL_DATA0, SEL_DATA0, SEL_DATA0, SEL_DATA0
    dd 0                                ; LDT
    dw 0, 0x68

trap_tss:
    dd 0, 0, 0, 0, 0, 0, 0
    dd 0                                ; CR3
    dd trap_task                        ; EIP
    dd 0x2                              ; EFLAGS
    dd 0, 0, 0, 0, trap_stack_top, 0, 0, 0
    dd SEL_DATA0, SEL_CODE0, SEL_DATA0, SEL_DATA0, SEL_DATA0, SEL_DATA0
    dd 0                                ; LDT
    dw 1, 0x68                          ; T bit set

section .bss
    resb 4096
fault_stack_top:
    resb 4096
trap_stack_top:

; Double faults: a #GP whose IDT gate is not present raises #NP while it is
; being delivered (contributory + contributory = #DF); a page fault whose
; frame cannot be pushed because the stack page is absent (#PF during #PF =
; #DF, handled by a task gate with its own stack). The last #DF handler
; prints and exits, as an OS would panic.

%macro TEST_GDT_ENTRIES 0
    SEGDESC 0, 0x67, 0x89, 0x0          ; 0x40 TSS of the #DF task
%endmacro
SEL_DFTASK equ 0x40

%include "system/sys.inc"

section .text
global _start
_start:
    mov esp, kernel_stack_top
    call sys_init

    PRINTS "-- #GP with its gate not present", 10
    and byte [idt + 13 * 8 + 5], 0x7f   ; clear P in the #GP gate
    EXPECT_FAULT .a1
    jmp 0:0                             ; #GP(0) -> #NP(0x6b) -> #DF(0)
.a1:
    or byte [idt + 13 * 8 + 5], 0x80
    EXPECT_FAULT .a2
    jmp 0:0                             ; with the gate back, just #GP(0)
.a2:

    PRINTS "-- #NP during a software interrupt: no #DF", 10
    mov ebx, 0x50
    mov eax, 0
    mov dx, SEL_CODE0
    mov cx, 0x0e00                      ; not present
    call set_idt_gate
    EXPECT_FAULT .b1
    int 0x50                            ; #NP(0x282), delivered normally
.b1:

    PRINTS "-- #PF while delivering #PF", 10
    mov edi, gdt + SEL_DFTASK
    mov eax, df_tss
    call set_desc_base
    mov ebx, 8
    mov dx, SEL_DFTASK
    mov cx, 0x8500                      ; #DF through a task gate
    call set_idt_gate
    mov dword [exc_hook], show_cr2
    ; Identity-map 0-4 MiB except the page at 0x3ff000.
    mov ebx, 0
    mov eax, 0x3
.pt:
    mov [pt0 + ebx * 4], eax
    add eax, 0x1000
    inc ebx
    cmp ebx, 1024
    jne .pt
    mov dword [pt0 + 1023 * 4], 0
    mov dword [pd], pt0 + 3
    mov eax, pd
    mov cr3, eax
    mov [tss0 + 0x1c], eax              ; CR3 of the kernel task, for the way back
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    EXPECT_FAULT .c1
    mov eax, [0x3ff000]                 ; an ordinary #PF first: the frame fits
.c1:
    mov [saved_esp], esp
    mov esp, 0x3ff800                   ; a stack in the absent page
    mov dword [df_resume], .c2
    push eax                            ; #PF, whose frame faults again: #DF
.c2:
    mov esp, [saved_esp]
    PRINTS "back from the #DF task", 10

    PRINTS "-- #DF handler that ends the run", 10
    mov dword [df_resume], 0
    mov esp, 0x3ff800
    push eax
    PRINTS "not reached", 10
    mov al, 1
    jmp exit

show_cr2:
    cmp dword [ebp + EXC_VECTOR], 14
    jne .done
    mov eax, cr2
    SHOW "  cr2", eax, 8
.done:
    ret

; The #DF task: a fresh stack, so it works whatever state the stack is in.
df_task:
    SHOW "#DF task: error code", [esp], 8
    SHOW "#DF task: back link", [df_tss], 4
    mov eax, cr2
    SHOW "#DF task: cr2", eax, 8
    mov eax, [df_resume]
    test eax, eax
    jz .panic
    mov [tss0 + 0x20], eax              ; resume the kernel task there
    mov eax, [saved_esp]
    mov [tss0 + 0x38], eax
    add esp, 4
    iretd
    jmp df_task
.panic:
    PRINTS "#DF: panic", 10
    mov al, EXIT_PASS
    jmp exit

section .data
saved_esp: dd 0
df_resume: dd 0
align 4
df_tss:
    dd 0, 0, 0, 0, 0, 0, 0
    dd pd                               ; CR3
    dd df_task                          ; EIP
    dd 0x2                              ; EFLAGS
    dd 0, 0, 0, 0, df_stack_top, 0, 0, 0
    dd SEL_DATA0, SEL_CODE0, SEL_DATA0, SEL_DATA0, SEL_DATA0, SEL_DATA0
    dd 0
    dw 0, 0x68

section .bss
alignb 4096
pd: resb 4096
pt0: resb 4096
    resb 4096
df_stack_top:

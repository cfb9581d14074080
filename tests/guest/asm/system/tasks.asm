; Hardware task switching: CALL to a TSS (NT, back link, busy bits, LDT
; loaded from the TSS) and IRET back; JMP to a TSS and JMP back; CALL
; through a task gate; an exception (#GP, with its error code pushed on the
; new task's stack) and a software interrupt through IDT task gates; a
; 16-bit TSS; a CR3 switch with paging on; CALL to a busy TSS.

%macro TEST_GDT_ENTRIES 0
    SEGDESC 0, 0x67, 0x89, 0x0          ; 0x40 TSS B
    SEGDESC 0, 0x67, 0x89, 0x0          ; 0x48 TSS C
    SEGDESC 0, 0x0f, 0x82, 0x0          ; 0x50 LDT of task B
    GATEDESC 0x40, 0, 0x85              ; 0x58 task gate -> TSS B
    SEGDESC 0, 0x67, 0x89, 0x0          ; 0x60 TSS D (#GP task)
    SEGDESC 0, 0x67, 0x89, 0x0          ; 0x68 TSS E (int 0x90 task)
    SEGDESC 0, 0x2b, 0x81, 0x0          ; 0x70 TSS F, 16-bit
    SEGDESC 0, 0xffff, 0x9b, 0x0        ; 0x78 16-bit code for task F
    SEGDESC 0, 0x67, 0x89, 0x0          ; 0x80 TSS G (own CR3)
%endmacro
TSS_B    equ 0x40
TSS_C    equ 0x48
LDT_B    equ 0x50
GATE_B   equ 0x58
TSS_D    equ 0x60
TSS_E    equ 0x68
TSS_F    equ 0x70
CODE_F   equ 0x78
TSS_G    equ 0x80

; TSS32 eip, esp, ldt, cr3: a ring-0 task with flat segments.
%macro TSS32 4
    dd 0, 0, 0, 0, 0, 0, 0              ; link, ESP0, SS0 .. SS2
    dd %4                               ; CR3
    dd %1                               ; EIP
    dd 0x2                              ; EFLAGS
    dd 0, 0, 0, 0, %2, 0, 0, 0          ; EAX .. EDI
    dd SEL_DATA0, SEL_CODE0, SEL_DATA0, SEL_DATA0, SEL_DATA0, SEL_DATA0
    dd %3                               ; LDT
    dw 0, 0x68                          ; T bit, I/O map base (none)
%endmacro

%include "system/sys.inc"

; EXPECT_FAULT_TASK label: the next #GP (handled by task D) resumes A at `label`.
%macro EXPECT_FAULT_TASK 1
    mov dword [gp_resume], %1
%endmacro

section .text
global _start
_start:
    mov esp, kernel_stack_top
    call sys_init
    mov esi, tss_bases
.bases:
    mov edi, [esi]
    test edi, edi
    jz .bases_done
    mov eax, [esi + 4]
    call set_desc_base
    add esi, 8
    jmp .bases
.bases_done:
    mov ebx, 13                         ; #GP -> task D
    mov dx, TSS_D
    mov cx, 0x8500
    call set_idt_gate
    mov ebx, 0x90                       ; int 0x90 -> task E
    mov dx, TSS_E
    mov cx, 0x8500
    call set_idt_gate

    PRINTS "-- call", 10
    mov ax, SEL_TSS0
    lar eax, ax
    SHOW "tss0 ar", eax, 8
    mov ebx, 0x1234abcd
    call TSS_B:0
    SHOW "back in A, ebx", ebx, 8
    call show_flags_nt
    mov ax, TSS_B
    lar eax, ax
    SHOW "tss B ar", eax, 8
    SHOW "tss B link", [tss_b], 4
    SHOW "tss B saved eip", [tss_b + 0x20], 8
    mov eax, [tss_b + 0x24]
    and eax, 0xfffeffff
    SHOW "tss B saved eflags", eax, 8
    SHOW "tss0 saved ebx", [tss0 + 0x34], 8

    PRINTS "-- call through a task gate", 10
    call GATE_B:0

    PRINTS "-- jmp", 10
    jmp TSS_C:0
after_jmp:
    PRINTS "back in A after jmp", 10
    mov ax, TSS_C
    lar eax, ax
    SHOW "tss C ar", eax, 8
    mov ax, SEL_TSS0
    lar eax, ax
    SHOW "tss0 ar", eax, 8

    PRINTS "-- exception through a task gate", 10
    mov ax, 0x1234
    mov ds, ax                          ; #GP(0x1230) -> task D, which skips this instruction
    PRINTS "back in A after #GP", 10
    mov ax, SEL_DATA0
    mov ds, ax

    PRINTS "-- int through a task gate", 10
    mov ecx, 0x77
    int 0x90
    SHOW "back in A after int, ecx", ecx, 8

    PRINTS "-- 16-bit tss", 10
    mov eax, 0xaaaa5555
    call TSS_F:0
    SHOW "eax after 16-bit task", eax, 8
    SHOW "tss F saved ip", [tss_f + 0x0e], 4
    SHOW "tss F saved ax", [tss_f + 0x12], 4
    mov ax, TSS_F
    lar eax, ax
    SHOW "tss F ar", eax, 8

    PRINTS "-- busy tss", 10
    EXPECT_FAULT_TASK .busy
    call SEL_TSS0:0                     ; the current task is busy: #GP(0x38)
.busy:

    PRINTS "-- cr3 switch", 10
    call setup_paging
    mov dword [0x400000], 0xaaaaaaaa    ; linear 0x400000 -> physical 0x400000 here
    mov dword [0x800000], 0x99999999    ; ... and physical 0x800000, task G's 0x400000
    call TSS_G:0
    mov eax, cr3
    sub eax, pd_a
    SHOW "A cr3 - pd_a", eax, 8
    SHOW "A sees", [0x400000], 8
    mov al, EXIT_PASS
    jmp exit

show_flags_nt:
    pushfd
    pop eax
    and eax, 0x4000
    SHOW "nt", eax, 4
    ret

setup_paging:
    mov dword [pd_a], 0x000083          ; 4 MiB pages: P, RW, PS
    mov dword [pd_a + 4], 0x400083
    mov dword [pd_a + 8], 0x800083
    mov dword [pd_g], 0x000083
    mov dword [pd_g + 4], 0x800083
    mov dword [tss0 + 0x1c], pd_a       ; the CR3 A gets back when G returns
    mov eax, cr4
    or eax, 0x10                        ; PSE
    mov cr4, eax
    mov eax, pd_a
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    ret

; ---------------------------------------------------------------- tasks
task_b:
    PRINTS "in task B", 10
    mov eax, -1
    str eax
    SHOW "B tr", eax, 8
    mov eax, -1
    sldt eax
    SHOW "B ldtr", eax, 8
    mov ax, 0x04                        ; a data segment from B's LDT
    mov fs, ax
    SHOW "B fs", fs, 4
    SHOW "B link", [tss_b], 4
    SHOW "B ebx", ebx, 8
    call show_flags_nt
    mov ax, SEL_TSS0
    lar eax, ax
    SHOW "B sees tss0 ar", eax, 8
    mov ebx, 0x5555
    iretd
    jmp task_b

task_c:
    PRINTS "in task C", 10
    call show_flags_nt
    SHOW "C link", [tss_c], 4
    mov ax, SEL_TSS0
    lar eax, ax
    SHOW "C sees tss0 ar", eax, 8
    jmp SEL_TSS0:0                      ; resumes A after its JMP
    jmp task_c

task_d:
    mov eax, [esp]
    SHOW "D error code", eax, 4
    SHOW "D link", [tss_d], 4
    mov eax, [tss0 + 0x20]
    sub eax, fault_insn_base
    SHOW "A faulted at +", eax, 8
    mov eax, [gp_resume]
    test eax, eax
    jz .skip
    mov [tss0 + 0x20], eax
    mov dword [gp_resume], 0
    jmp .done
.skip:
    add dword [tss0 + 0x20], 2          ; skip the 2-byte mov ds, ax
.done:
    add esp, 4
    iretd
    jmp task_d

task_e:
    SHOW "E sees link", [tss_e], 4
    mov ecx, 0x88
    iretd
    jmp task_e

task_g:
    mov eax, cr3
    sub eax, pd_g
    SHOW "G cr3 - pd_g", eax, 8
    SHOW "G sees", [0x400000], 8
    iretd
    jmp task_g

bits 16
task_f:
    mov dx, COM1
    mov al, 'F'
    out dx, al
    mov al, '1'
    out dx, al
    mov al, '6'
    out dx, al
    mov al, 10
    out dx, al
    mov ax, 0x1616
    iret
    jmp task_f
bits 32

section .data
fault_insn_base equ _start
gp_resume: dd 0
tss_bases:
    dd gdt + TSS_B, tss_b
    dd gdt + TSS_C, tss_c
    dd gdt + LDT_B, ldt_b
    dd gdt + TSS_D, tss_d
    dd gdt + TSS_E, tss_e
    dd gdt + TSS_F, tss_f
    dd gdt + CODE_F, task_f
    dd gdt + TSS_G, tss_g
    dd 0

align 4
tss_b: TSS32 task_b, stack_b, LDT_B, 0
tss_c: TSS32 task_c, stack_c, 0, 0
tss_d: TSS32 task_d, stack_d, 0, 0
tss_e: TSS32 task_e, stack_e, 0, 0
tss_g: TSS32 task_g, stack_g, 0, pd_g
tss_f:
    dw 0                                ; link
    dw 0, 0, 0, 0, 0, 0                 ; SP0 SS0 .. SP2 SS2
    dw 0                                ; IP (task_f is at offset 0 of CODE_F)
    dw 0x2                              ; FLAGS
    dw 0x1111, 0, 0, 0, 0x800, 0, 0, 0  ; AX CX DX BX SP BP SI DI
    dw SEL_DATA16, CODE_F, SEL_DATA16, SEL_DATA16
    dw 0                                ; LDT
align 8
ldt_b:
    SEGDESC 0, 0xfffff, 0x93, 0xc       ; 0x04: data DPL 0
    SEGDESC 0, 0xfffff, 0x93, 0xc

section .bss
alignb 4096
pd_a: resb 4096
pd_g: resb 4096
    resb 2048
stack_b:
    resb 2048
stack_c:
    resb 2048
stack_d:
    resb 2048
stack_e:
    resb 2048
stack_g:

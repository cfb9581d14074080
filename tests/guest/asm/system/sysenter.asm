; SYSENTER/SYSEXIT: the MSRs, a ring-3 -> ring-0 -> ring-3 round trip with
; the flat segments SYSENTER_CS implies (CS+8, CS+16|3, CS+24|3), ESP/EIP
; from the MSRs and ECX/EDX, IF cleared on entry; #GP for SYSEXIT outside
; ring 0 and for SYSENTER with SYSENTER_CS = 0.

%include "system/sys.inc"

MSR_SYSENTER_CS  equ 0x174
MSR_SYSENTER_ESP equ 0x175
MSR_SYSENTER_EIP equ 0x176

section .text
global _start
_start:
    mov esp, kernel_stack_top
    call sys_init
    mov ecx, MSR_SYSENTER_CS
    mov eax, SEL_CODE0
    xor edx, edx
    wrmsr
    mov ecx, MSR_SYSENTER_ESP
    mov eax, sysenter_stack_top
    wrmsr
    mov ecx, MSR_SYSENTER_EIP
    mov eax, sysenter_entry
    wrmsr
    mov ecx, MSR_SYSENTER_CS
    rdmsr
    SHOW "sysenter_cs", eax, 8
    mov ecx, MSR_SYSENTER_ESP
    rdmsr
    sub eax, sysenter_stack_top
    SHOW "sysenter_esp - top", eax, 8

    mov eax, user_main
    call run_user
    PRINTS "back in the kernel", 10

    PRINTS "-- sysenter with SYSENTER_CS = 0", 10
    mov ecx, MSR_SYSENTER_CS
    xor eax, eax
    xor edx, edx
    wrmsr
    mov eax, user_bad_sysenter
    call run_user
    mov al, EXIT_PASS
    jmp exit

sysenter_entry:
    ; ECX and EDX still hold what ring 3 set up for the way back.
    mov eax, cs
    mov ebx, ss
    SHOW "entry cs", eax, 4
    SHOW "entry ss", ebx, 4
    mov eax, esp
    sub eax, sysenter_stack_top
    SHOW "entry esp - top", eax, 8
    pushfd
    pop eax
    and eax, 0x200
    SHOW "entry if", eax, 4
    sysexit

user_main:
    SHOW "user cs", cs, 4
    mov ecx, esp
    mov edx, .back
    sysenter
.back:
    PRINTS "back in ring 3", 10
    SHOW "user cs", cs, 4
    SHOW "user ss", ss, 4
    EXPECT_FAULT .f1
    sysexit                             ; CPL 3: #GP(0)
.f1:
    int 0x7f

user_bad_sysenter:
    EXPECT_FAULT .f1
    sysenter                            ; SYSENTER_CS = 0: #GP(0)
.f1:
    int 0x7f

section .bss
    resb 4096
sysenter_stack_top:

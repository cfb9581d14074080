; CPUID, MSRs, RDTSC/RDPMC and the debug registers as ts86's CPU model
; defines them. The model differs from QEMU's by design, so the transcript
; is checked against expected text.

%include "system/sys.inc"

section .text
global _start
_start:
    mov esp, kernel_stack_top
    call sys_init

    PRINTS "-- cpuid", 10
    xor eax, eax
    cpuid
    SHOW "leaf0 max", eax, 8
    mov [text], ebx
    mov [text + 4], edx
    mov [text + 8], ecx
    mov byte [text + 12], 0
    PRINTS "vendor="
    mov esi, text
    call puts
    call newline
    mov eax, 1
    call show_leaf
    mov eax, 2
    call show_leaf
    mov eax, 3                          ; beyond the last basic leaf: leaf 2's data
    call show_leaf
    mov eax, 0x80000000
    call show_leaf
    mov eax, 0x80000001
    call show_leaf
    mov eax, 0x80000005                 ; beyond the last extended leaf: leaf 2's data
    call show_leaf
    mov edi, text
    mov eax, 0x80000002
.brand:
    push eax
    cpuid
    mov [edi], eax
    mov [edi + 4], ebx
    mov [edi + 8], ecx
    mov [edi + 12], edx
    add edi, 16
    pop eax
    inc eax
    cmp eax, 0x80000005
    jne .brand
    mov byte [edi], 0
    PRINTS "brand="
    mov esi, text
    call puts
    call newline

    PRINTS "-- msrs", 10
    mov esi, msr_list
.msr:
    mov ecx, [esi]
    test ecx, ecx
    jz .msr_done
    SHOW "msr", ecx, 8
    rdmsr
    SHOW "  edx", edx, 8
    SHOW "  eax", eax, 8
    add esi, 4
    jmp .msr
.msr_done:
    mov ecx, 0x200                      ; MTRRphysBase0: WB at 0
    mov eax, 0x00000006
    xor edx, edx
    wrmsr
    mov ecx, 0x201                      ; MTRRphysMask0: 128 MiB, valid
    mov eax, 0xf8000800
    mov edx, 0xf
    wrmsr
    mov ecx, 0x250
    mov eax, 0x06060606
    mov edx, 0x06060606
    wrmsr
    mov ecx, 0x2ff                      ; MTRRdefType: enabled, fixed enabled, UC
    mov eax, 0xc00
    xor edx, edx
    wrmsr
    mov ecx, 0x201
    rdmsr
    SHOW "physmask0 edx", edx, 8
    SHOW "physmask0 eax", eax, 8
    mov ecx, 0x250
    rdmsr
    SHOW "fix64k eax", eax, 8
    mov ecx, 0x2ff
    rdmsr
    SHOW "deftype", eax, 8
    mov ecx, 0x277                      ; PAT with UC- in entry 0
    mov eax, 0x00070407
    mov edx, 0x00070406
    wrmsr
    rdmsr
    SHOW "pat eax", eax, 8
    mov ecx, 0xc0000080
    mov eax, 0x800                      ; NXE
    xor edx, edx
    wrmsr
    rdmsr
    SHOW "efer", eax, 8
    mov ecx, 0x10                       ; TSC: writes set the counter
    mov eax, 0
    mov edx, 7
    wrmsr
    rdtsc
    SHOW "tsc high after write", edx, 8
    rdtsc
    mov ebx, eax
    mov ebp, edx
    rdtsc
    sub eax, ebx
    sbb edx, ebp
    mov eax, 1
    test edx, edx
    jns .mono
    mov eax, 0
.mono:
    SHOW "tsc monotonic", eax, 1

    PRINTS "-- msr faults", 10
    EXPECT_FAULT .m1
    mov ecx, 0x12345
    rdmsr                               ; no such MSR
.m1:
    EXPECT_FAULT .m2
    mov ecx, 0x12345
    wrmsr
.m2:
    EXPECT_FAULT .m3
    mov ecx, 0x277
    mov eax, 0x00000002                 ; type 2 is reserved
    xor edx, edx
    wrmsr
.m3:
    EXPECT_FAULT .m4
    mov ecx, 0xfe                       ; MTRRcap is read-only
    xor eax, eax
    xor edx, edx
    wrmsr
.m4:
    EXPECT_FAULT .m5
    mov ecx, 0xc0000080
    mov eax, 0x1                        ; SCE: no SYSCALL here
    xor edx, edx
    wrmsr
.m5:
    EXPECT_FAULT .m6
    mov ecx, 0x1b
    mov eax, 0xfee00a00                 ; APIC base bit 9 is reserved
    xor edx, edx
    wrmsr
.m6:
    EXPECT_FAULT .m7
    mov ecx, 0x2ff
    mov eax, 0x1000                     ; reserved bit
    xor edx, edx
    wrmsr
.m7:

    PRINTS "-- rdpmc", 10
    mov ecx, 1
    rdpmc
    SHOW "pmc1", eax, 8
    EXPECT_FAULT .p1
    mov ecx, 2
    rdpmc
.p1:

    PRINTS "-- ring 3", 10
    mov eax, user_part
    call run_user
    mov eax, cr4
    or eax, 0x104                       ; TSD, PCE
    mov cr4, eax
    mov eax, user_part
    call run_user
    mov eax, cr4
    and eax, ~0x104
    mov cr4, eax

    PRINTS "-- debug registers", 10
    mov eax, 0
    mov dr6, eax
    mov eax, dr6
    SHOW "dr6", eax, 8
    mov eax, 0xffffdfff                 ; everything but GD
    mov dr7, eax
    mov eax, dr7
    SHOW "dr7", eax, 8
    mov eax, 0x12345678
    mov dr0, eax
    mov eax, dr0
    SHOW "dr0", eax, 8
    mov eax, 0x400
    mov dr7, eax
    mov eax, dr5                        ; CR4.DE clear: DR5 is DR7
    SHOW "dr5", eax, 8
    mov eax, cr4
    or eax, 0x8                         ; DE
    mov cr4, eax
    EXPECT_FAULT .d1
    mov eax, dr4                        ; #UD with CR4.DE
.d1:
    mov eax, 0x2400                     ; GD
    mov dr7, eax
    EXPECT_FAULT .d2
    mov eax, dr0                        ; #DB, DR6.BD, GD cleared
.d2:
    mov eax, dr6
    and eax, 0x2000
    SHOW "dr6.bd", eax, 8
    mov eax, dr7
    SHOW "dr7 after #DB", eax, 8

    PRINTS "-- cr4", 10
    EXPECT_FAULT .c1
    mov eax, cr4
    or eax, 0x40                        ; MCE: not implemented
    mov cr4, eax
.c1:
    EXPECT_FAULT .c2
    mov eax, cr4
    or eax, 0x800                       ; reserved
    mov cr4, eax
.c2:
    mov al, EXIT_PASS
    jmp exit

; show_leaf: EAX = leaf; prints it and the four result registers.
show_leaf:
    SHOW "leaf", eax, 8
    cpuid
    SHOW "  eax", eax, 8
    SHOW "  ebx", ebx, 8
    SHOW "  ecx", ecx, 8
    SHOW "  edx", edx, 8
    ret

user_part:
    EXPECT_FAULT .u1
    rdtsc                               ; faults only with CR4.TSD
    PRINTS "ring 3 rdtsc ok", 10
.u1:
    EXPECT_FAULT .u2
    xor ecx, ecx
    rdpmc                               ; needs CR4.PCE
    SHOW "ring 3 pmc0", eax, 8
.u2:
    EXPECT_FAULT .u3
    mov ecx, 0x10
    rdmsr                               ; privileged
.u3:
    EXPECT_FAULT .u4
    cpuid                               ; allowed anywhere
    PRINTS "ring 3 cpuid ok", 10
    mov dword [resume_eip], 0
.u4:
    int 0x7f

section .data
msr_list:
    dd 0x17, 0x1b, 0x8b, 0xfe, 0x174, 0x175, 0x176, 0x1a0, 0x277, 0x2ff, 0xc0000080, 0
text: times 64 db 0

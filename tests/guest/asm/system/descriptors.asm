; Descriptor instructions and segment loads: LAR/LSL/VERR/VERW over many
; descriptor types, privilege levels and RPLs (from ring 0 and ring 3),
; LLDT/SLDT/LTR/STR, LDS/LES/LFS/LGS/LSS, ARPL, BOUND, segment-load faults
; with their error codes. (Limit checks are in limits.asm: QEMU does not
; check data segment limits, so they cannot be compared with it.)

%macro TEST_GDT_ENTRIES 0
    SEGDESC 0, 0x0fff, 0x96, 0x4        ; 0x40 data RW expand-down, B=1, limit 0xfff
    SEGDESC 0, 0x0fff, 0xf0, 0x4        ; 0x48 data read-only, DPL 3
    SEGDESC 0, 0xfffff, 0x98, 0xc       ; 0x50 code execute-only, DPL 0
    SEGDESC 0, 0xfffff, 0xfe, 0xc       ; 0x58 code conforming readable, DPL 3
    SEGDESC 0, 0xfffff, 0x12, 0xc       ; 0x60 data RW, not present
    SEGDESC 0, 0x17, 0x82, 0x0          ; 0x68 LDT (base set at run time)
    SEGDESC 0, 0x2b, 0x81, 0x0          ; 0x70 16-bit TSS, available (base set at run time)
    SEGDESC 0x9000, 0x67, 0x8b, 0x0     ; 0x78 32-bit TSS, busy
    GATEDESC SEL_CODE0, 3, 0xec         ; 0x80 32-bit call gate, DPL 3
    GATEDESC SEL_TSS0, 0, 0x85          ; 0x88 task gate, DPL 0
    GATEDESC SEL_CODE0, 0, 0x8e         ; 0x90 interrupt gate (not valid in the GDT)
    SEGDESC 0, 0, 0x80, 0x0             ; 0x98 system type 0 (reserved)
    SEGDESC 0, 0, 0x88, 0x0             ; 0xa0 system type 8 (reserved)
    SEGDESC 0, 0xffff, 0xd2, 0x0        ; 0xa8 data RW, DPL 2
    SEGDESC 0, 0x00ff, 0x96, 0x0        ; 0xb0 data RW expand-down, B=0, limit 0xff
    SEGDESC 0, 0x00001, 0x92, 0x8       ; 0xb8 data RW, G=1, limit 1 -> 0x1fff
    SEGDESC 0, 0xfffff, 0xd2, 0xc       ; 0xc0 data RW, DPL 2 (for RPL tests)
%endmacro

%include "system/sys.inc"

section .text
global _start
_start:
    mov esp, kernel_stack_top
    call sys_init
    mov edi, gdt + 0x68
    mov eax, ldt
    call set_desc_base
    mov edi, gdt + 0x70
    mov eax, tss16
    call set_desc_base

    PRINTS "-- ring 0", 10
    call probe_all
    mov eax, user_probe
    call run_user

    PRINTS "-- ldt/tr", 10
    mov eax, -1
    sldt eax
    SHOW "sldt before", eax, 8
    mov ax, 0x68
    lldt ax
    mov eax, -1
    sldt eax
    SHOW "sldt", eax, 8
    mov eax, -1
    str eax
    SHOW "str", eax, 8
    mov word [scratch], 0xffff
    str [scratch]
    SHOW "str m16", [scratch], 8
    mov ebx, 0x07
    call probe
    mov ebx, 0x0c
    call probe
    mov ebx, 0x17
    call probe
    mov ebx, 0x1f
    call probe
    mov ax, 0x07
    mov fs, ax
    SHOW "fs from ldt", fs, 4
    EXPECT_FAULT .l1
    mov ax, 0x10
    lldt ax                             ; not an LDT descriptor: #GP(0x10)
.l1:
    EXPECT_FAULT .l2
    mov ax, 0x6c
    lldt ax                             ; TI set: #GP(0x68)
.l2:
    EXPECT_FAULT .l3
    mov ax, 0x78
    ltr ax                              ; busy TSS: #GP(0x78)
.l3:
    EXPECT_FAULT .l5
    mov ax, 0x14
    mov gs, ax                          ; index 2 of the LDT: not present, #NP(0x14)
.l5:
    xor eax, eax
    lldt ax
    mov ebx, 0x07
    call probe                          ; null LDTR: LDT selectors fail

    PRINTS "-- loads", 10
    EXPECT_FAULT .s1
    mov ax, 0x60
    mov ds, ax                          ; not present: #NP(0x60)
.s1:
    EXPECT_FAULT .s2
    mov ax, 0x50
    mov es, ax                          ; execute-only code: #GP(0x50)
.s2:
    mov ax, 0x5b
    mov es, ax                          ; conforming readable code is fine at any level
    SHOW "es", es, 4
    EXPECT_FAULT .s3
    mov ax, 0x48
    mov ss, ax                          ; read-only (and DPL 3): #GP(0x48)
.s3:
    EXPECT_FAULT .s4
    xor eax, eax
    mov ss, ax                          ; null SS: #GP(0)
.s4:
    EXPECT_FAULT .s5
    mov ax, 0xc1
    mov ds, ax                          ; RPL 1 <= DPL 2, CPL 0: fine
    mov ax, 0xa8 | 3
    mov ds, ax                          ; RPL 3 > DPL 2: #GP(0xa8)
.s5:
    mov ax, SEL_DATA0
    mov ds, ax
    SHOW "ds", ds, 4

    PRINTS "-- far pointer loads", 10
    mov ax, SEL_DATA0
    mov es, ax
    lds esi, [fp32]
    mov eax, ds
    mov cx, SEL_DATA0
    mov ds, cx
    SHOW "lds ds", eax, 4
    SHOW "lds esi", esi, 8
    les di, [fp16]
    mov eax, es
    SHOW "les es", eax, 4
    SHOW "les di", edi, 8
    lfs ebx, [fp32]
    SHOW "lfs fs", fs, 4
    lgs ebx, [fp32]
    SHOW "lgs gs", gs, 4
    mov ecx, esp
    lss esp, [fp_stack]
    mov edx, esp
    mov eax, ss
    mov esp, ecx
    mov cx, SEL_DATA0
    mov ss, cx
    SHOW "lss ss", eax, 4
    SHOW "lss esp", edx, 8
    mov esi, 0x5a5a5a5a
    EXPECT_FAULT .p1
    lds esi, [fp_absent]                ; #NP(0x60), ESI unchanged
.p1:
    SHOW "esi after fault", esi, 8

    PRINTS "-- arpl", 10
    mov ax, 0x10
    mov bx, 0x13
    arpl ax, bx
    SHOW_ZF "arpl zf"
    SHOW "arpl ax", eax, 4
    arpl ax, bx
    SHOW_ZF "arpl again zf"
    mov word [scratch], 0x21
    mov bx, 0x2
    arpl [scratch], bx
    SHOW_ZF "arpl m16 zf"
    SHOW "arpl m16", [scratch], 4

    PRINTS "-- bound", 10
    mov eax, 15
    bound eax, [bounds32]
    PRINTS "bound 15 ok", 10
    mov eax, 20
    bound eax, [bounds32]
    PRINTS "bound 20 ok", 10
    EXPECT_FAULT .b1
    mov eax, 21
    bound eax, [bounds32]               ; #BR
.b1:
    EXPECT_FAULT .b2
    mov eax, -1
    bound eax, [bounds32]
.b2:
    mov ax, -3
    bound ax, [bounds16]
    PRINTS "bound16 -3 ok", 10
    EXPECT_FAULT .b3
    mov ax, 0x8000
    bound ax, [bounds16]
.b3:

    PRINTS "-- ltr 16-bit tss", 10
    mov ax, 0x70
    ltr ax
    mov eax, -1
    str eax
    SHOW "str", eax, 8
    mov ebx, 0x70
    call probe                          ; now busy: type 3
    mov al, EXIT_PASS
    jmp exit

; probe: EBX = selector. Prints LAR (32- and 16-bit), LSL, VERR and VERW
; results with ZF ('Z' set, '-' clear); failed LAR/LSL leave the marker.
probe:
    PRINTS "sel="
    mov eax, ebx
    mov ecx, 4
    call print_hex
    mov eax, 0xdeadbeef
    lar eax, bx
    call put_zf_hex8
    mov eax, 0xdeadbeef
    lar ax, bx
    call put_zf_hex8
    mov eax, 0xdeadbeef
    lsl eax, bx
    call put_zf_hex8
    mov eax, 0xdeadbeef
    lsl ax, bx
    call put_zf_hex8
    verr bx
    call put_zf
    verw bx
    call put_zf
    call newline
    ret

; put_zf_hex8: prints " <EAX>" then the ZF mark.
put_zf_hex8:
    pushfd
    push eax
    mov al, ' '
    call putc
    pop eax
    mov ecx, 8
    call print_hex
    popfd
put_zf:
    pushfd
    push eax
    mov al, '-'
    jnz .p
    mov al, 'Z'
.p:
    call putc
    pop eax
    popfd
    ret

probe_all:
    mov esi, selectors
.next:
    movzx ebx, word [esi]
    cmp ebx, 0xffff
    je .done
    push esi
    call probe
    pop esi
    add esi, 2
    jmp .next
.done:
    ret

user_probe:
    PRINTS "-- ring 3", 10
    call probe_all
    mov eax, -1
    str eax
    SHOW "user str", eax, 8
    EXPECT_FAULT .u1
    xor eax, eax
    lldt ax                             ; CPL 3: #GP(0)
.u1:
    EXPECT_FAULT .u2
    mov ax, SEL_TSS0
    ltr ax
.u2:
    mov ax, 0xc3
    EXPECT_FAULT .u3
    mov ds, ax                          ; DPL 2 < CPL 3: #GP(0xc0)
.u3:
    int 0x7f

section .data
selectors:
    dw 0x0000, 0x0003, 0x0008, 0x0010, 0x001b, 0x0023, 0x0028, SEL_TSS0
    dw 0x0040, 0x0048, 0x004b, 0x0050, 0x0058, 0x005b, 0x0060, 0x0068
    dw 0x0070, 0x0078, 0x0080, 0x0083, 0x0088, 0x0090, 0x0098, 0x00a0
    dw 0x00a8, 0x00aa, 0x00ab, 0x00b0, 0x00b8, 0x00c0, 0x00c8, 0x0007, 0xfff8
    dw 0xffff

align 8
ldt:
    SEGDESC 0, 0xfffff, 0xf2, 0xc       ; 0x04/0x07: data DPL 3
    SEGDESC 0, 0xfffff, 0x9a, 0xc       ; 0x0c: code DPL 0
    SEGDESC 0, 0xfffff, 0x12, 0xc       ; 0x14: data, not present

tss16: times 0x2c db 0

fp32:       dd 0x12345678
            dw SEL_DATA3 | 3
fp16:       dw 0xbeef
            dw SEL_DATA0
fp_stack:   dd 0x00104000
            dw SEL_DATA0
fp_absent:  dd 0
            dw 0x60
bounds32:   dd 10, 20
bounds16:   dw -5, 5
scratch:    dd 0

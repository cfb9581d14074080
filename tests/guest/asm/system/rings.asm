; Privilege transitions: IRET to ring 3, call gates ring 3 -> ring 0 with
; parameter copy and far RET back (data segments nulled on the way out),
; same-privilege gates, a conforming code segment, INT from ring 3 through
; a DPL-3 trap gate, and the #GP/#NP faults of gates and privileged
; instructions, with their error codes.

%macro TEST_GDT_ENTRIES 0
    GATEDESC SEL_CODE0, 2, 0xec         ; 0x40 32-bit call gate, DPL 3, 2 params -> ring 0
    SEGDESC 0, 0xfffff, 0x9e, 0xc       ; 0x48 conforming ring-0 code
    GATEDESC SEL_CODE0, 0, 0x8c         ; 0x50 call gate, DPL 0
    GATEDESC SEL_CODE3 | 3, 0, 0xec     ; 0x58 call gate, DPL 3 -> ring-3 code
    GATEDESC SEL_CODE0, 0, 0x6c         ; 0x60 call gate, DPL 3, not present
    SEGDESC 0, 0xfffff, 0x9b, 0xc       ; 0x68 ring-0 code based at gate16_block
    SEGDESC 0, 0xfffff, 0x9b, 0xc       ; 0x70 ring-0 code based at int16_handler
    GATEDESC 0x80, 0, 0x84              ; 0x78 16-bit call gate -> 0x80:0
    SEGDESC 0, 0xfffff, 0x9b, 0xc       ; 0x80 ring-0 code based at call16_target
%endmacro
GATE_INNER  equ 0x40
CONFORMING  equ 0x48
GATE_DPL0   equ 0x50
GATE_SAME3  equ 0x58
GATE_ABSENT equ 0x60
SEL_BLOCK   equ 0x68
SEL_INT16   equ 0x70
GATE_CALL16 equ 0x78
SEL_CALL16  equ 0x80

%include "system/sys.inc"

section .text
global _start
_start:
    mov esp, kernel_stack_top
    call sys_init
    mov edi, gdt + GATE_INNER
    mov eax, gate_inner_target
    call set_gate_offset
    mov edi, gdt + GATE_DPL0
    call set_gate_offset
    mov edi, gdt + GATE_ABSENT
    call set_gate_offset
    mov edi, gdt + GATE_SAME3
    mov eax, gate_same3_target
    call set_gate_offset
    mov ebx, 0x80
    mov eax, int80_handler
    mov dx, SEL_CODE0
    mov cx, 0xef00                      ; trap gate, DPL 3
    call set_idt_gate
    mov ebx, 0x81
    mov cx, 0x8e00                      ; interrupt gate, DPL 0
    call set_idt_gate

    mov edi, gdt + SEL_BLOCK
    mov eax, gate16_block
    call set_desc_base
    mov edi, gdt + SEL_INT16
    mov eax, int16_handler
    call set_desc_base
    mov edi, gdt + SEL_CALL16
    mov eax, call16_target
    call set_desc_base
    mov ebx, 0x82
    mov eax, 0
    mov dx, SEL_INT16
    mov cx, 0x8600                      ; 16-bit interrupt gate
    call set_idt_gate

    PRINTS "ring0", 10
    ; 16-bit gates carry 16-bit offsets and push 16-bit frames: the caller and
    ; the handlers run in segments based at them, so their offsets are small.
    jmp SEL_BLOCK:0
back_from_block:
    ; A call through the DPL-3 gate from ring 0 stays at ring 0: no stack switch, no parameters.
    mov esi, esp
    call GATE_INNER:0
    sub esi, esp
    SHOW "ring0 gate esp delta", esi, 8

    mov eax, user_main
    call run_user
    PRINTS "back in ring0", 10
    SHOW "cs", cs, 4
    SHOW "ss", ss, 4
    mov al, EXIT_PASS
    jmp exit

gate16_block:
    mov esi, esp
    int 0x82
    sub esi, esp
    SHOW "int16 esp delta", esi, 8
    mov esi, esp
    call GATE_CALL16:0
    sub esi, esp
    SHOW "call16 esp delta", esi, 8
    jmp SEL_CODE0:back_from_block

int16_handler:
    movzx eax, word [esp]
    SHOW "int16 frame ip", eax, 4
    movzx eax, word [esp + 2]
    SHOW "int16 frame cs", eax, 4
    movzx eax, word [esp + 4]
    SHOW "int16 frame flags", eax, 4
    SHOW "int16 cs", cs, 4
    iretw

call16_target:
    movzx eax, word [esp]
    SHOW "call16 ret ip", eax, 4
    movzx eax, word [esp + 2]
    SHOW "call16 ret cs", eax, 4
    SHOW "call16 cs", cs, 4
    o16 retf

; Called through GATE_INNER: from ring 0 (same level, returns at once) or from ring 3.
gate_inner_target:
    mov eax, cs
    and eax, 3
    jnz .bad
    mov eax, [esp + 4]
    and eax, 3
    jnz .from_ring3
    retf
.from_ring3:
    mov ax, SEL_DATA0
    mov ds, ax
    mov es, ax
    PRINTS "gate: in ring 0", 10
    SHOW "gate cs", cs, 4
    SHOW "gate ss", ss, 4
    SHOW "gate esp", esp, 8
    SHOW "ret eip", [esp], 8
    SHOW "ret cs", [esp + 4], 4
    SHOW "param0", [esp + 8], 8
    SHOW "param1", [esp + 12], 8
    SHOW "old esp", [esp + 16], 8
    SHOW "old ss", [esp + 20], 4
    retf 8                              ; back to ring 3; DS and ES (DPL 0) become null
.bad:
    PRINTS "gate ran at the wrong level", 10
    mov al, 1
    jmp exit

gate_same3_target:
    mov eax, cs
    mov ebx, [esp + 4]
    mov cx, SEL_DATA3 | 3
    mov ds, cx
    SHOW "same-level gate cs", eax, 4
    SHOW "same-level gate ret cs", ebx, 4
    retf

conforming_target:
    SHOW "conforming cs", cs, 4
    retf

int80_handler:
    push ds
    mov ax, SEL_DATA0
    mov ds, ax
    SHOW "int80 cs", cs, 4
    SHOW "int80 ss", ss, 4
    SHOW "int80 frame eip", [esp + 4], 8
    SHOW "int80 frame cs", [esp + 8], 4
    mov eax, [esp + 12]
    and eax, 0xfffeffff                 ; RF is not interesting here
    SHOW "int80 frame eflags", eax, 8
    SHOW "int80 frame esp", [esp + 16], 8
    SHOW "int80 frame ss", [esp + 20], 4
    pop ds
    iretd

; ---------------------------------------------------------------- ring 3
user_main:
    SHOW "user cs", cs, 4
    SHOW "user ss", ss, 4
    SHOW "user esp", esp, 8

    push dword 0x11111111
    push dword 0x22222222
    call GATE_INNER | 3:0
    mov eax, ds
    mov ebx, es
    mov cx, SEL_DATA3 | 3
    mov ds, cx
    mov es, cx
    SHOW "after gate ds", eax, 4
    SHOW "after gate es", ebx, 4
    SHOW "after gate cs", cs, 4
    SHOW "after gate esp", esp, 8

    call GATE_SAME3 | 3:0
    call CONFORMING | 3:conforming_target
    SHOW "after conforming cs", cs, 4

    int 0x80
    PRINTS "after int80", 10

    EXPECT_FAULT .f1
    int 0x81                            ; gate DPL 0 < CPL 3: #GP(0x81*8+2)
.f1:
    EXPECT_FAULT .f2
    call GATE_DPL0 | 3:0                ; #GP(gate)
.f2:
    EXPECT_FAULT .f3
    call GATE_ABSENT | 3:0              ; #NP(gate)
.f3:
    EXPECT_FAULT .f4
    jmp GATE_INNER | 3:0                ; JMP cannot change privilege: #GP(target code segment)
.f4:
    EXPECT_FAULT .f5
    cli                                 ; IOPL 0 < CPL 3
.f5:
    EXPECT_FAULT .f6
    hlt
.f6:
    EXPECT_FAULT .f7
    mov eax, cr0
.f7:
    EXPECT_FAULT .f8
    mov ax, SEL_DATA0
    mov ds, ax                          ; DPL 0 data at CPL 3: #GP(0x10)
.f8:
    EXPECT_FAULT .f9
    mov ax, SEL_DATA3 | 1
    mov ss, ax                          ; RPL != CPL: #GP(0x20)
.f9:
    EXPECT_FAULT .f10
    push dword 0x2
    push dword SEL_CODE0
    push dword .f10
    iretd                               ; IRET to an inner level: #GP(0x08)
.f10:
    mov esp, user_stack_top - 64
    EXPECT_FAULT .f11
    call SEL_CODE0:.f11                 ; far CALL to a more privileged segment: #GP(0x08)
.f11:
    PRINTS "user done", 10
    int 0x7f

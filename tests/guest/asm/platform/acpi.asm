; ACPI: finds the RSDP by scanning 0xE0000–0xFFFFF as an OS does, checks
; checksums on the way to the FADT, reads the PM1a control port and SCI,
; takes \_S5's SLP_TYPa out of the DSDT's AML, enables ACPI if the FADT has
; an SMI command port, and powers off with SLP_EN. Exit 0 = powered off.
%include "platform.inc"
MULTIBOOT_HEADER

section .text
global _start
_start:
    mov esp, stack_top
    call setup_cpu

    mov esi, 0xe0000
.scan:
    cmp dword [esi], 'RSD '
    jne .next
    cmp dword [esi + 4], 'PTR '
    jne .next
    mov ecx, 20
    call checksum
    test al, al
    jz .found
.next:
    add esi, 16
    cmp esi, 0x100000
    jb .scan
    PRINT "no rsdp"
    call newline
    mov al, 1
    jmp exit
.found:
    PRINT "rsdp found, checksum ok"
    call newline

    mov edi, [esi + 16]        ; RSDT
    cmp dword [edi], 'RSDT'
    jne fail
    mov esi, edi
    mov ecx, [edi + 4]
    call checksum
    test al, al
    jnz fail
    mov ecx, [edi + 4]
    sub ecx, 36
    shr ecx, 2
    lea ebx, [edi + 36]
.tables:
    mov esi, [ebx]
    cmp dword [esi], 'FACP'
    je .fadt
    add ebx, 4
    dec ecx
    jnz .tables
    jmp fail
.fadt:
    mov [fadt], esi
    mov ecx, [esi + 4]
    call checksum
    test al, al
    jnz fail
    PRINT "fadt ok, pm1a_cnt "
    mov esi, [fadt]
    mov eax, [esi + 64]
    mov [pm1a_cnt], eax
    call put_hex16
    PRINT " sci "
    mov ax, [esi + 46]
    call put_hex16
    PRINT " pm timer "
    mov eax, [esi + 76]
    call put_hex16
    call newline

    ; DSDT: look for "_S5_" followed by PackageOp; the first element is SLP_TYPa.
    mov esi, [esi + 40]
    cmp dword [esi], 'DSDT'
    jne fail
    push esi
    mov ecx, [esi + 4]
    call checksum
    pop esi
    test al, al
    jnz fail
    mov ecx, [esi + 4]
    lea edi, [esi + ecx]
    add esi, 36
.find_s5:
    cmp dword [esi], '_S5_'
    je .s5
    inc esi
    cmp esi, edi
    jb .find_s5
    jmp fail
.s5:
    cmp byte [esi + 4], 0x12   ; PackageOp
    jne fail
    add esi, 5
    mov al, [esi]              ; PkgLength: skip its extra bytes
    shr al, 6
    movzx eax, al
    lea esi, [esi + eax + 2]   ; past PkgLength and NumElements
    mov al, [esi]
    cmp al, 0x0a               ; BytePrefix
    jne .small
    mov al, [esi + 1]
.small:
    and al, 7
    mov [slp_typ], al
    PRINT "s5 slp_typ "
    call put_hex8
    call newline

    ; ACPI mode: if SCI_EN is clear and there is an SMI command port, ask firmware for it.
    mov edx, [pm1a_cnt]
    in ax, dx
    test al, 1
    jnz .enabled
    mov esi, [fadt]
    mov edx, [esi + 48]
    test edx, edx
    jz .enabled
    mov al, [esi + 52]
    out dx, al
    mov ecx, 100000
.wait_sci:
    mov edx, [pm1a_cnt]
    in ax, dx
    test al, 1
    jnz .enabled
    dec ecx
    jnz .wait_sci
    jmp fail
.enabled:
    PRINT "acpi enabled, powering off"
    call newline
    mov edx, [pm1a_cnt]
    in ax, dx
    and ax, 0xe3ff
    movzx bx, byte [slp_typ]
    shl bx, 10
    or ax, bx
    or ax, 0x2000              ; SLP_EN
    out dx, ax
    mov ecx, 60000
    call delay_pit
    PRINT "still running"
    call newline
    mov al, 2
    jmp exit

fail:
    PRINT "acpi table walk failed"
    call newline
    mov al, 1
    jmp exit

; checksum: AL = sum of ECX bytes at ESI (0 for a valid table).
checksum:
    push esi
    push ecx
    xor eax, eax
.add:
    add al, [esi]
    inc esi
    dec ecx
    jnz .add
    pop ecx
    pop esi
    ret

section .data
fadt: dd 0
pm1a_cnt: dd 0
slp_typ: db 0

section .bss
align 16
    resb 8192
stack_top:

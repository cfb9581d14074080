; A bare-metal virtio-blk test (driver: tests/guest/asm/virtio-blk.inc): prints the
; capacity, sector 0, sector 1, writes sector 1 and prints it again over COM1,
; and exits through isa-debug-exit with 0x10 (status 33). Used by
; e2e/disk/disk.e2e.ts: a second boot of the same persistent disk shows the
; first boot's write as "sector1 before".
%include "multiboot.inc"
MULTIBOOT_HEADER
%include "virtio-blk.inc"

BUF equ 0x204000

section .text
global _start
_start:
    mov esp, stack_top
    cli
    xor eax, eax                ; no optional features: every write is durable on completion
    call vblk_init

    mov esi, m_cap
    call puts
    mov esi, [devcfg]
    mov eax, [esi + 4]
    call print_hex
    mov eax, [esi]
    call print_hex
    call newline

    ; sector 0
    xor eax, eax
    xor ebx, ebx
    mov ecx, 2
    call do_req
    mov esi, m_s0
    call puts
    call print_buf
    ; sector 1, before
    xor eax, eax
    mov ebx, 1
    mov ecx, 2
    call do_req
    mov esi, m_before
    call puts
    call print_buf
    ; write sector 1
    mov edi, BUF
    mov ecx, 128
    xor eax, eax
    rep stosd
    mov esi, m_written
    mov edi, BUF
.copy:
    lodsb
    stosb
    test al, al
    jnz .copy
    mov eax, 1
    mov ebx, 1
    xor ecx, ecx
    call do_req
    ; sector 1, after
    xor eax, eax
    mov ebx, 1
    mov ecx, 2
    call do_req
    mov esi, m_after
    call puts
    call print_buf
    mov esi, m_done
    call puts
    mov al, 0x10
    jmp exit

; do_req: EAX = type (0 read, 1 write), EBX = sector, ECX = 2 if the device
; writes BUF; one sector. Waits for the completion; fails on a bad status.
do_req:
    push edi
    mov edi, ecx
    mov ecx, BUF
    mov edx, 512
    call vblk_req_ok
    pop edi
    ret

; print_buf: BUF up to NUL or 64 bytes, non-printables as '.', then a newline.
print_buf:
    push esi
    push ecx
    mov esi, BUF
    mov ecx, 64
.next:
    mov al, [esi]
    inc esi
    test al, al
    jz .end
    cmp al, 0x20
    jb .dot
    cmp al, 0x7e
    jbe .put
.dot:
    mov al, '.'
.put:
    call putc
    dec ecx
    jnz .next
.end:
    call newline
    pop ecx
    pop esi
    ret

section .data
m_cap:      db "capacity: ", 0
m_s0:       db "sector0: ", 0
m_before:   db "sector1 before: ", 0
m_after:    db "sector1 after: ", 0
m_written:  db "written by the ts86 disk guest", 0
m_done:     db "disk test done", 13, 10, 0

section .bss
alignb 16
    resb 4096
stack_top:

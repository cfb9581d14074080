; A guest that writes its disk the way a careful program does, for
; e2e/disk-errors: for each 64 KiB chunk in turn it reads the chunk, writes it
; with a pattern naming every sector, issues FLUSH, and only then prints
; "flushed N". So every chunk the console reports as flushed must be on the
; disk afterwards, whatever happened to the browser's storage meanwhile.
;
; With the kernel command line "verify" it only reads: it prints one letter per
; chunk ("chunks: WWW.."): W = every sector holds its pattern, . = all zeros
; (never written), X = anything else (a torn or damaged chunk), then exits.
%include "multiboot.inc"
MULTIBOOT_HEADER
%include "virtio-blk.inc"

CHUNKS        equ 48
CHUNK_SECTORS equ 128
CHUNK_BYTES   equ CHUNK_SECTORS * 512
DATA          equ 0x300000
MAGIC0        equ 0x36385354    ; "TS86"
MAGIC1        equ 0x54495257    ; "WRIT"

section .text
global _start
_start:
    mov esp, stack_top
    cli
    mov [mbinfo], ebx
    mov eax, BLK_F_FLUSH
    call vblk_init
    call verify_mode
    jnz verify

    mov esi, m_writing
    call puts
    xor ebp, ebp                ; chunk number
.chunk:
    mov ebx, ebp
    shl ebx, 7                  ; first sector of the chunk
    mov eax, BLK_T_IN           ; read first: a lazily fetched base image is read here
    mov ecx, DATA
    mov edx, CHUNK_BYTES
    mov edi, 2
    call vblk_req_ok
    call fill_chunk
    mov eax, BLK_T_OUT
    xor edi, edi
    call vblk_req_ok
    mov eax, BLK_T_FLUSH
    xor ecx, ecx
    call vblk_req_ok
    mov esi, m_flushed
    call puts
    mov eax, ebp
    call print_hex
    call newline
    inc ebp
    cmp ebp, CHUNKS
    jb .chunk
    mov esi, m_done
    call puts
    mov al, 0x10
    jmp exit

verify:
    mov esi, m_chunks
    call puts
    xor ebp, ebp
.chunk:
    mov ebx, ebp
    shl ebx, 7
    mov eax, BLK_T_IN
    mov ecx, DATA
    mov edx, CHUNK_BYTES
    mov edi, 2
    call vblk_req_ok
    call classify_chunk
    call putc
    inc ebp
    cmp ebp, CHUNKS
    jb .chunk
    call newline
    mov esi, m_verified
    call puts
    mov al, 0x11
    jmp exit

; verify_mode: ZF clear when the command line holds "verify" (loaders put
; the kernel's own name in front of the arguments, as QEMU does).
verify_mode:
    mov esi, [mbinfo]
    test dword [esi], 4         ; MULTIBOOT_INFO_CMDLINE
    jz .no
    mov esi, [esi + 16]
.scan:
    cmp byte [esi], 0
    je .no
    cmp dword [esi], 'veri'
    jne .next
    cmp word [esi + 4], 'fy'
    je .yes
.next:
    inc esi
    jmp .scan
.yes:
    or eax, 1                   ; clears ZF
    ret
.no:
    xor eax, eax                ; sets ZF
    ret

; fill_chunk: EBX = first sector; writes the pattern into DATA.
; Sector s: "TS86WRIT", then dword k (k >= 2) = s + k * 0x10000.
fill_chunk:
    push ebx
    push ecx
    push edi
    mov edi, DATA
    mov ecx, CHUNK_SECTORS
.sector:
    mov dword [edi], MAGIC0
    mov dword [edi + 4], MAGIC1
    push ecx
    mov ecx, 2
.word:
    mov eax, ecx
    shl eax, 16
    add eax, ebx
    mov [edi + ecx * 4], eax
    inc ecx
    cmp ecx, 128
    jb .word
    pop ecx
    add edi, 512
    inc ebx
    dec ecx
    jnz .sector
    pop edi
    pop ecx
    pop ebx
    ret

; classify_chunk: EBX = first sector, DATA = its bytes; AL = 'W', '.' or 'X'.
classify_chunk:
    push ebx
    push ecx
    push edx
    push esi
    mov esi, DATA
    xor edx, edx                ; bit 0: a sector with its pattern, bit 1: a zero sector, bit 2: other
    mov ecx, CHUNK_SECTORS
.sector:
    call sector_kind
    or edx, eax
    add esi, 512
    inc ebx
    dec ecx
    jnz .sector
    mov al, 'W'
    cmp edx, 1
    je .done
    mov al, '.'
    cmp edx, 2
    je .done
    mov al, 'X'
.done:
    pop esi
    pop edx
    pop ecx
    pop ebx
    ret

; sector_kind: ESI = sector bytes, EBX = its number; EAX = 1 pattern, 2 zeros, 4 other.
sector_kind:
    push ecx
    cmp dword [esi], MAGIC0
    jne .zeros
    cmp dword [esi + 4], MAGIC1
    jne .other
    mov ecx, 2
.word:
    mov eax, ecx
    shl eax, 16
    add eax, ebx
    cmp [esi + ecx * 4], eax
    jne .other
    inc ecx
    cmp ecx, 128
    jb .word
    mov eax, 1
    pop ecx
    ret
.zeros:
    xor ecx, ecx
.zword:
    cmp dword [esi + ecx * 4], 0
    jne .other
    inc ecx
    cmp ecx, 128
    jb .zword
    mov eax, 2
    pop ecx
    ret
.other:
    mov eax, 4
    pop ecx
    ret

section .data
m_writing:  db "writer: start", 13, 10, 0
m_flushed:  db "flushed ", 0
m_done:     db "writer done", 13, 10, 0
m_chunks:   db "chunks: ", 0
m_verified: db "verify done", 13, 10, 0

section .bss
alignb 4
mbinfo: resd 1
alignb 16
    resb 4096
stack_top:

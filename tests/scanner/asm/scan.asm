; Guest for the code scanner test: puts a byte sequence (a small routine
; ending in ret) into fresh pages and runs it, rewrites and reruns it, leaves
; a copy that never runs, and runs clean code. The routine is stored XOR-ed
; so the kernel's own pages, which also run, never contain it.
%include "multiboot.inc"
MULTIBOOT_HEADER

KEY equ 0x55
PAGE_A equ 0x200000             ; run, rewritten, run again
PAGE_B equ 0x201000             ; a copy that is only data
PAGE_C equ 0x203000             ; clean code (matched by its page hash only)
PAGE_D equ 0x204000             ; clean code first, then the routine next to it
STRADDLE equ 0x205ffa           ; the routine across a page boundary

section .text
global _start
_start:
    mov esp, stack_top
    mov edi, PAGE_A + 0x100
    call put_payload
    mov eax, PAGE_A + 0x100
    call eax
    ; Rewrite it (a variant the signature still matches) and run it again, twice.
    mov edi, PAGE_A + 0x100
    call put_payload
    mov byte [PAGE_A + 0x100 + 10], 0x40   ; nop -> inc eax
    mov eax, PAGE_A + 0x100
    call eax
    mov eax, PAGE_A + 0x100
    call eax
    ; Data only: never executed.
    mov edi, PAGE_B
    call put_payload
    ; Clean code, copied with rep movsb.
    mov esi, clean
    mov edi, PAGE_C
    mov ecx, clean_len
    cld
    rep movsb
    mov eax, PAGE_C
    call eax
    ; A page already running code gets the routine written beside that code.
    mov byte [PAGE_D], 0xc3
    mov eax, PAGE_D
    call eax
    mov edi, PAGE_D + 0x800
    call put_payload
    mov eax, PAGE_D + 0x800
    call eax
    ; Across a page boundary.
    mov edi, STRADDLE
    call put_payload
    mov eax, STRADDLE
    call eax
    mov esi, done
    call puts
    mov al, 0x10
    jmp exit

; put_payload: EDI = destination; writes the decoded routine.
put_payload:
    pusha
    mov esi, enc_payload
    mov ecx, payload_len
.next:
    lodsb
    xor al, KEY
    stosb
    loop .next
    popa
    ret

section .data
; mov eax, 0x5eedc0de / xor eax, 0x13572468 / nop / nop / ret
%macro ENC 1-*
%rep %0
    db (%1) ^ KEY
%rotate 1
%endrep
%endmacro
enc_payload: ENC 0xb8, 0xde, 0xc0, 0xed, 0x5e, 0x35, 0x68, 0x24, 0x57, 0x13, 0x90, 0x90, 0xc3
payload_len equ $ - enc_payload
clean: db 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3    ; mov eax, 1 / ret
clean_len equ $ - clean
done: db "scan guest done", 10, 0

section .bss
align 16
    resb 4096
stack_top:

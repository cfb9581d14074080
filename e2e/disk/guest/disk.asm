; A bare-metal virtio-blk driver, as small as it gets: finds the modern
; virtio-blk PCI function (1AF4:1042) on bus 0 through ports 0xCF8/0xCFC,
; walks its vendor capabilities to the common, notify and device regions in
; BAR0, sets up queue 0 (8 entries, polled, no interrupts), then prints the
; capacity, sector 0, sector 1, writes sector 1 and prints it again over COM1,
; and exits through isa-debug-exit with 0x10 (status 33). Used by
; e2e/disk/disk.e2e.ts: a second boot of the same persistent disk shows the
; first boot's write as "sector1 before".
%include "multiboot.inc"
MULTIBOOT_HEADER

QSIZE equ 8
DESC  equ 0x200000
AVAIL equ 0x201000
USED  equ 0x202000
HDR   equ 0x203000
BUF   equ 0x204000
STAT  equ 0x205000

section .text
global _start
_start:
    mov esp, stack_top
    cli
    ; rings and buffers start zeroed
    mov edi, DESC
    mov ecx, 0x1800
    xor eax, eax
    rep stosd

    xor ebx, ebx
.scan:
    mov [slot], ebx
    xor ecx, ecx
    call cfg_read32
    cmp eax, 0x10421AF4
    je .found
    inc ebx
    cmp ebx, 32
    jb .scan
    mov esi, m_nodev
    jmp fail
.found:
    ; memory decoding and bus mastering on (16-bit write: the status half is RW1C)
    mov ecx, 4
    call cfg_read32
    or eax, 6
    mov ecx, 4
    call cfg_write16
    mov ecx, 0x10
    call cfg_read32
    and eax, 0xFFFFFFF0
    mov [bar], eax

    ; the vendor capabilities (id 9)
    mov ecx, 0x34
    call cfg_read8
    mov edi, eax
.cap:
    test edi, edi
    jz .caps_done
    mov ecx, edi
    call cfg_read8
    cmp eax, 9
    jne .cap_next
    lea ecx, [edi + 8]
    call cfg_read32
    add eax, [bar]
    mov ebp, eax                ; region address
    lea ecx, [edi + 3]
    call cfg_read8              ; cfg_type
    cmp eax, 1
    jne .not_common
    cmp dword [commoncfg], 0
    jne .cap_next
    mov [commoncfg], ebp
    jmp .cap_next
.not_common:
    cmp eax, 2
    jne .not_notify
    cmp dword [notify], 0
    jne .cap_next
    mov [notify], ebp
    lea ecx, [edi + 16]
    call cfg_read32
    mov [mult], eax
    jmp .cap_next
.not_notify:
    cmp eax, 4
    jne .cap_next
    cmp dword [devcfg], 0
    jne .cap_next
    mov [devcfg], ebp
.cap_next:
    lea ecx, [edi + 1]
    call cfg_read8
    mov edi, eax
    jmp .cap
.caps_done:
    mov esi, m_nocaps
    cmp dword [commoncfg], 0
    je fail
    cmp dword [notify], 0
    je fail
    cmp dword [devcfg], 0
    je fail

    ; the virtio initialisation sequence (virtio 1.2 §3.1.1)
    mov esi, [commoncfg]
    mov byte [esi + 0x14], 0
.reset:
    cmp byte [esi + 0x14], 0
    jne .reset
    mov byte [esi + 0x14], 1    ; ACKNOWLEDGE
    mov byte [esi + 0x14], 3    ; DRIVER
    mov dword [esi + 0x08], 0
    mov dword [esi + 0x0C], 0
    mov dword [esi + 0x08], 1
    mov dword [esi + 0x0C], 1   ; VIRTIO_F_VERSION_1 only
    mov byte [esi + 0x14], 0x0B ; FEATURES_OK
    test byte [esi + 0x14], 8
    jnz .features_ok
    mov esi, m_features
    jmp fail
.features_ok:
    mov word [esi + 0x16], 0    ; queue_select 0
    movzx eax, word [esi + 0x18]
    cmp eax, QSIZE
    jae .qsize_ok
    mov esi, m_queue
    jmp fail
.qsize_ok:
    mov word [esi + 0x18], QSIZE
    mov word [esi + 0x1A], 0xFFFF ; no MSI-X vector: we poll
    mov dword [esi + 0x20], DESC
    mov dword [esi + 0x24], 0
    mov dword [esi + 0x28], AVAIL
    mov dword [esi + 0x2C], 0
    mov dword [esi + 0x30], USED
    mov dword [esi + 0x34], 0
    movzx eax, word [esi + 0x1E]
    imul eax, [mult]
    add eax, [notify]
    mov [qnotify], eax
    mov word [esi + 0x1C], 1    ; queue_enable
    mov byte [esi + 0x14], 0x0F ; DRIVER_OK

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

; do_req: EAX = type (0 read, 1 write), EBX = sector, ECX = data flags
; (2 = device writes BUF). Waits for the completion; fails on a bad status.
do_req:
    mov [HDR], eax
    mov dword [HDR + 4], 0
    mov [HDR + 8], ebx
    mov dword [HDR + 12], 0
    mov byte [STAT], 0xFF
    mov dword [DESC + 0], HDR
    mov dword [DESC + 4], 0
    mov dword [DESC + 8], 16
    mov word [DESC + 12], 1     ; NEXT
    mov word [DESC + 14], 1
    mov dword [DESC + 16], BUF
    mov dword [DESC + 20], 0
    mov dword [DESC + 24], 512
    or ecx, 1
    mov [DESC + 28], cx
    mov word [DESC + 30], 2
    mov dword [DESC + 32], STAT
    mov dword [DESC + 36], 0
    mov dword [DESC + 40], 1
    mov word [DESC + 44], 2     ; WRITE
    mov word [DESC + 46], 0
    movzx eax, word [AVAIL + 2]
    mov edx, eax
    and edx, QSIZE - 1
    mov word [AVAIL + 4 + edx * 2], 0
    inc eax
    mov [AVAIL + 2], ax
    mov edx, [qnotify]
    mov word [edx], 0
.wait:
    pause
    mov cx, [USED + 2]
    cmp cx, ax
    jne .wait
    cmp byte [STAT], 0
    jne .ioerr
    ret
.ioerr:
    mov esi, m_ioerr
    jmp fail

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

newline:                        ; CR LF, so a terminal starts each line at column 0
    mov al, 13
    call putc
    mov al, 10
    jmp putc

; print_hex: EAX as 8 hex digits.
print_hex:
    push ecx
    push edx
    mov edx, eax
    mov ecx, 8
.digit:
    rol edx, 4
    mov al, dl
    and al, 0xF
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 7
.out:
    call putc
    dec ecx
    jnz .digit
    pop edx
    pop ecx
    ret

; cfg_read32: ECX = register; EAX = the dword at (register & ~3) of [slot].
cfg_read32:
    push edx
    call cfg_addr
    mov dx, 0xCFC
    in eax, dx
    pop edx
    ret

; cfg_read8: ECX = register; EAX = its byte.
cfg_read8:
    push ecx
    call cfg_read32
    and ecx, 3
    shl ecx, 3
    shr eax, cl
    and eax, 0xFF
    pop ecx
    ret

; cfg_write16: ECX = register (even), AX = value.
cfg_write16:
    push edx
    push eax
    call cfg_addr
    pop eax
    mov edx, ecx
    and edx, 2
    add edx, 0xCFC
    out dx, ax
    pop edx
    ret

cfg_addr:
    push eax
    mov eax, [slot]
    shl eax, 11
    or eax, 0x80000000
    push ecx
    and ecx, 0xFC
    or eax, ecx
    pop ecx
    mov dx, 0xCF8
    out dx, eax
    pop eax
    ret

fail:
    call puts
    mov al, 1
    jmp exit

section .data
m_nodev:    db "disk: no virtio-blk device", 10, 0
m_nocaps:   db "disk: virtio capabilities missing", 10, 0
m_features: db "disk: FEATURES_OK refused", 10, 0
m_queue:    db "disk: queue 0 too small", 10, 0
m_ioerr:    db "disk: I/O error", 10, 0
m_cap:      db "capacity: ", 0
m_s0:       db "sector0: ", 0
m_before:   db "sector1 before: ", 0
m_after:    db "sector1 after: ", 0
m_written:  db "written by the ts86 disk guest", 0
m_done:     db "disk test done", 13, 10, 0

section .bss
alignb 4
slot:    resd 1
bar:     resd 1
commoncfg: resd 1
notify:  resd 1
mult:    resd 1
devcfg:  resd 1
qnotify: resd 1
alignb 16
    resb 4096
stack_top:

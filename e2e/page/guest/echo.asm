; A bare-metal guest for the page's end-to-end tests. It draws on the VGA
; text screen (colours, a blinking cell, CP437 box drawing, a cursor it
; moves through the CRTC), then echoes COM1 input back upper-cased, so a
; test can tell the guest's answer from the terminal's local echo, and
; reports each byte the keyboard controller delivers (port 0x60, set 1
; after the i8042's translation) as "kXX " on COM1. 'q' ends it through
; isa-debug-exit with status (0x10 << 1) | 1 = 33.
%include "multiboot.inc"
MULTIBOOT_HEADER

VGA_TEXT equ 0xB8000
ROW      equ 160                ; bytes per 80-column row

section .text
global _start
_start:
    mov esp, stack_top
    cld

    ; Row 0: a banner, yellow on blue.
    mov edi, VGA_TEXT
    mov esi, banner
    mov ah, 0x1E
    call vga_puts

    ; Row 2: the 16 background colours, each cell a letter in the opposite
    ; foreground colour. Cells 8-15 have attribute bit 7 set: they blink.
    mov edi, VGA_TEXT + 2 * ROW
    xor ecx, ecx
.colours:
    mov al, 'A'
    add al, cl
    mov ah, cl
    shl ah, 4
    mov dl, 15
    sub dl, cl
    or ah, dl
    stosw
    inc ecx
    cmp ecx, 16
    jne .colours

    ; Row 3: a CP437 double-line box top, light cyan on black.
    mov edi, VGA_TEXT + 3 * ROW
    mov ax, 0x0BC9
    stosw
    mov ecx, 10
    mov ax, 0x0BCD
    rep stosw
    mov ax, 0x0BBB
    stosw

    ; Cursor at row 5, column 0 (cell 400 = 0x190).
    mov ebx, 5 * 80
    call set_cursor

    mov esi, ready
    call puts

.poll:
    mov dx, COM1 + 5
    in al, dx
    test al, 1
    jz .idle
    mov dx, COM1
    in al, dx
    cmp al, 'q'
    je .quit
    cmp al, 'a'
    jb .echo
    cmp al, 'z'
    ja .echo
    sub al, 32                  ; upper-case letters
.echo:
    call putc
    cmp al, 13
    je .poll                    ; CR is not drawn on the screen
    ; Also draw it on the VGA screen at the cursor, white on red, and advance.
    mov ah, 0x4F
    mov [VGA_TEXT + ebx * 2], ax
    inc ebx
    call set_cursor
    jmp .poll
.idle:
    in al, 0x64                 ; i8042 status: bit 0 output full, bit 5 from the mouse
    test al, 1
    jz .rest
    mov ah, al
    in al, 0x60
    test ah, 0x20               ; mouse bytes (and a missing controller's 0xFF) are dropped
    jnz .rest
    push eax
    mov al, 'k'
    call putc
    pop eax
    call put_hex8
    mov al, ' '
    call putc
    jmp .poll
.rest:
    pause
    jmp .poll

.quit:
    mov esi, bye
    call puts
    mov al, 0x10
    jmp exit

; put_hex8: AL as two lower-case hex digits on COM1.
put_hex8:
    push eax
    push eax
    shr al, 4
    call .digit
    pop eax
    and al, 0x0F
    call .digit
    pop eax
    ret
.digit:
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '9' - 1
.out:
    jmp putc

; vga_puts: ESI = NUL-terminated string, EDI = screen address, AH = attribute.
vga_puts:
    lodsb
    test al, al
    jz .done
    stosw
    jmp vga_puts
.done:
    ret

; set_cursor: EBX = cell index; CRTC registers 0x0E (high) and 0x0F (low).
set_cursor:
    push eax
    push edx
    mov dx, 0x3D4
    mov al, 0x0E
    out dx, al
    inc dx
    mov al, bh
    out dx, al
    dec dx
    mov al, 0x0F
    out dx, al
    inc dx
    mov al, bl
    out dx, al
    pop edx
    pop eax
    ret

section .data
banner: db " ts86 VGA text mode ", 0
ready:  db "echo guest ready", 13, 10, 0
bye:    db 13, 10, "bye", 13, 10, 0

section .bss
align 16
    resb 4096
stack_top:

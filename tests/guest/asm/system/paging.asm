; Paging: #PF error codes and CR2 for not-present pages and tables, writes
; to read-only pages with and without CR0.WP, user accesses to supervisor
; pages (read, write, fetch), accessed and dirty bits in PDEs and PTEs,
; 4 MiB PSE pages, INVLPG; then PAE paging with 2 MiB pages, reserved-bit
; faults (RSVD), and NX with EFER.NXE (QEMU runs with -cpu qemu32,+nx).

%include "system/sys.inc"

PAGE_P  equ 0x001
PAGE_RW equ 0x002
PAGE_US equ 0x004
PAGE_PS equ 0x080

section .text
global _start
_start:
    mov esp, kernel_stack_top
    call sys_init
    mov dword [exc_hook], show_cr2
    mov byte [ret_page], 0xc3           ; RET: the code executed through the PAE mappings

    ; 32-bit paging. 0-4 MiB: identity, user RW (ring-3 code runs there).
    mov ebx, 0
    mov eax, PAGE_P | PAGE_RW | PAGE_US
.pt0:
    mov [pt0 + ebx * 4], eax
    add eax, 0x1000
    inc ebx
    cmp ebx, 1024
    jne .pt0
    mov dword [pd], pt0 + (PAGE_P | PAGE_RW | PAGE_US)
    ; 4-8 MiB through pt1: a few pages with different rights over physical 0x500000+.
    mov dword [pd + 4], pt1 + (PAGE_P | PAGE_RW | PAGE_US)
    mov dword [pt1 + 0 * 4], 0x500000 | PAGE_RW | PAGE_US              ; 0x400000 not present
    mov dword [pt1 + 1 * 4], 0x500000 | PAGE_P                         ; 0x401000 RO supervisor
    mov dword [pt1 + 2 * 4], 0x501000 | PAGE_P | PAGE_RW | PAGE_US     ; 0x402000 RW user
    mov dword [pt1 + 3 * 4], 0x502000 | PAGE_P | PAGE_RW               ; 0x403000 RW supervisor
    mov dword [pt1 + 4 * 4], 0x503000 | PAGE_P | PAGE_US               ; 0x404000 RO user
    ; 8-12 MiB: directory entry not present. 12-16 MiB: one 4 MiB page over physical 4-8 MiB.
    mov dword [pd + 12], 0x400000 | PAGE_P | PAGE_RW | PAGE_US | PAGE_PS
    mov dword [0x500000], 0x50505050
    mov dword [0x501000], 0x51515151

    mov eax, cr4
    or eax, 0x10                        ; PSE
    mov cr4, eax
    mov eax, pd
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    PRINTS "paging on", 10

    PRINTS "-- not present", 10
    EXPECT_FAULT .n1
    mov eax, [0x400010]
.n1:
    EXPECT_FAULT .n2
    mov dword [0x400020], 1
.n2:
    EXPECT_FAULT .n3
    mov eax, [0x800123]                 ; the directory entry is absent
.n3:

    PRINTS "-- read-only and WP", 10
    SHOW "ro read", [0x401000], 8
    mov dword [0x401004], 0x11111111    ; WP clear: supervisor writes ignore R/W
    SHOW "ro after write", [0x401004], 8
    mov eax, cr0
    or eax, 0x10000                     ; WP
    mov cr0, eax
    EXPECT_FAULT .w1
    mov dword [0x401008], 0x22222222
.w1:
    SHOW "ro after faulting write", [0x401008], 8

    PRINTS "-- accessed and dirty", 10
    mov eax, [pt1 + 2 * 4]
    and eax, 0x60
    SHOW "pte before", eax, 2
    mov eax, [0x402000]
    mov eax, [pt1 + 2 * 4]
    and eax, 0x60
    SHOW "pte after read", eax, 2
    mov dword [0x402000], 0x52525252
    mov eax, [pt1 + 2 * 4]
    and eax, 0x60
    SHOW "pte after write", eax, 2
    mov eax, [pd + 4]
    and eax, 0x60
    SHOW "pde", eax, 2
    SHOW "4m page read", [0xd01000], 8
    mov eax, [pd + 12]
    and eax, 0x60
    SHOW "4m pde after read", eax, 2
    mov dword [0xd01004], 0x53535353
    mov eax, [pd + 12]
    and eax, 0x60
    SHOW "4m pde after write", eax, 2
    SHOW "alias at 0x402004", [0x402004], 8

    PRINTS "-- invlpg", 10
    and dword [pt1 + 2 * 4], ~PAGE_P
    invlpg [0x402000]
    EXPECT_FAULT .i1
    mov eax, [0x402000]
.i1:
    or dword [pt1 + 2 * 4], PAGE_P
    invlpg [0x402000]
    SHOW "present again", [0x402000], 8

    PRINTS "-- user", 10
    mov eax, user_tests
    call run_user

    PRINTS "-- pae", 10
    mov eax, cr0
    and eax, 0x7fffffff
    mov cr0, eax
    ; PDPT: [0] -> pae_pd. pae_pd: 0-2 MiB through pae_pt (identity, user), 2-4 MiB a 2 MiB page,
    ; 6-8 MiB through pae_pt2, 8-10 MiB a 2 MiB page with a reserved bit.
    mov dword [pdpt], pae_pd + PAGE_P
    mov ebx, 0
    mov eax, PAGE_P | PAGE_RW | PAGE_US
.pae_pt:
    mov [pae_pt + ebx * 8], eax
    add eax, 0x1000
    inc ebx
    cmp ebx, 512
    jne .pae_pt
    mov dword [pae_pd], pae_pt + (PAGE_P | PAGE_RW | PAGE_US)
    mov dword [pae_pd + 8], 0x200000 | PAGE_P | PAGE_RW | PAGE_US | PAGE_PS
    mov dword [pae_pd + 3 * 8], pae_pt2 + (PAGE_P | PAGE_RW | PAGE_US)
    mov dword [pae_pd + 4 * 8], 0x800000 | 0x2000 | PAGE_P | PAGE_RW | PAGE_PS
    mov dword [pae_pt2], 0x500000 | PAGE_P | PAGE_RW                    ; 0x600000
    mov dword [pae_pt2 + 4], 0x100                                      ; bit 40: reserved (MAXPHYADDR 36)
    mov dword [pae_pt2 + 8], ret_page + (PAGE_P | PAGE_RW)              ; 0x601000: code, NX
    mov dword [pae_pt2 + 12], 0x80000000
    mov dword [pae_pt2 + 16], ret_page + PAGE_RW                        ; 0x602000: not present
    mov dword [pae_pt2 + 24], ret_page + (PAGE_P | PAGE_RW)             ; 0x603000: code, executable
    mov eax, cr4
    or eax, 0x20                        ; PAE
    mov cr4, eax
    mov eax, pdpt
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    PRINTS "pae on", 10
    SHOW "2m page read", [0x300000], 8
    mov dword [0x300000], 0x33333333
    mov eax, [pae_pd + 8]
    and eax, 0x60
    SHOW "2m pde", eax, 2
    EXPECT_FAULT .p1
    mov eax, [0x600000]                 ; reserved bit in the PTE
.p1:
    EXPECT_FAULT .p2
    mov eax, [0x801000]                 ; reserved bit in the 2 MiB PDE
.p2:
    EXPECT_FAULT .p3
    mov eax, [0x601000]                 ; XD set without EFER.NXE: reserved
.p3:
    call 0x603000
    PRINTS "executed at 0x603000", 10

    PRINTS "-- nx", 10
    mov ecx, 0xc0000080
    rdmsr
    or eax, 0x800                       ; NXE
    wrmsr
    SHOW "nx page read", [0x601000], 2
    EXPECT_FAULT .x1
    call 0x601000                       ; fetch from an XD page: P | I/D
.x1:
    EXPECT_FAULT .x2
    call 0x602000                       ; fetch from a not-present page: I/D
.x2:
    call 0x603000
    PRINTS "executed at 0x603000 with NXE", 10
    mov al, EXIT_PASS
    jmp exit

user_tests:
    SHOW "user read rw", [0x402000], 8
    EXPECT_FAULT .u1
    mov eax, [0x403000]                 ; supervisor page
.u1:
    EXPECT_FAULT .u2
    mov dword [0x403000], 1
.u2:
    EXPECT_FAULT .u3
    mov dword [0x404000], 1             ; user read-only
.u3:
    EXPECT_FAULT .u4
    mov eax, [0x400000]                 ; not present
.u4:
    EXPECT_FAULT .u5
    call 0x403000                       ; fetch from a supervisor page
.u5:
    int 0x7f

; exc_hook: page faults also show CR2.
show_cr2:
    cmp dword [ebp + EXC_VECTOR], 14
    jne .done
    mov eax, cr2
    SHOW "  cr2", eax, 8
.done:
    ret

section .bss
alignb 4096
pd: resb 4096
pt0: resb 4096
pt1: resb 4096
pae_pd: resb 4096
pae_pt: resb 4096
pae_pt2: resb 4096
ret_page: resb 4096
pdpt: resb 32

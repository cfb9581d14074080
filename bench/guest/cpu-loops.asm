; CPU-bound guest loops for bench/cpu.ts, one workload per build (-D WORKLOAD=n).
; A flat multiboot image with the a.out-kludge header, so that both ts86 and
; v86 load it the same way. Prints "go" before the timed part and
; "end XXXXXXXX" (a checksum, so the work cannot be skipped) after it.
bits 32
org 0x100000

MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 0x00010003
COM1     equ 0x3f8

header:
    dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
    dd header, header, load_end, bss_end, start

start:
    mov esp, stack_top
    mov esi, msg_go
    call puts
    xor eax, eax
%if WORKLOAD == 1
    ; ALU: dependent arithmetic and logic, a compare-and-branch per iteration.
    mov ecx, 4000000
    mov ebx, 0x12345678
.alu:
    add eax, ebx
    xor ebx, eax
    sub eax, ecx
    and ebx, 0x7fffffff
    or eax, 1
    inc ebx
    dec ecx
    jnz .alu
    add eax, ebx
%elif WORKLOAD == 2
    ; Memory: sum and rewrite a 64 KiB array, many passes.
    mov edx, 120
.pass:
    mov edi, buffer
    mov ecx, 16384
.mem:
    add eax, [edi]
    mov [edi], eax
    add edi, 4
    dec ecx
    jnz .mem
    dec edx
    jnz .pass
%elif WORKLOAD == 3
    ; String ops: REP MOVSD and REP STOSD over 64 KiB buffers.
    mov edx, 6000
.copy:
    mov esi, buffer
    mov edi, buffer2
    mov ecx, 16384
    rep movsd
    mov edi, buffer
    mov ecx, 16384
    mov eax, edx
    rep stosd
    dec edx
    jnz .copy
    mov eax, [buffer2 + 100]
%elif WORKLOAD == 4
    ; Calls: recursive Fibonacci (call/ret, push/pop, stack memory).
    mov eax, 27
    call fib
%elif WORKLOAD == 5
    ; x87: a multiply-add recurrence in extended precision.
    finit
    fld1
    fld qword [factor]
    fldz
    mov ecx, 2000000
.fp:
    fadd st0, st2
    fmul st0, st1
    dec ecx
    jnz .fp
    fistp dword [result]
    mov eax, [result]
%endif
    push eax
    mov esi, msg_end
    call puts
    pop eax
    call puthex
    mov al, 10
    call putc
    ; Halt rather than exit via port 0xf4: v86 treats that port as a test harness and throws.
.hang:
    cli
    hlt
    jmp .hang

fib:                        ; eax = fib(eax)
    cmp eax, 2
    jb .base
    push eax
    dec eax
    call fib
    xchg eax, [esp]
    sub eax, 2
    call fib
    pop edx
    add eax, edx
.base:
    ret

putc:
    push edx
    push eax
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop eax
    mov dx, COM1
    out dx, al
    pop edx
    ret

puts:
    push eax
.next:
    mov al, [esi]
    inc esi
    test al, al
    jz .done
    call putc
    jmp .next
.done:
    pop eax
    ret

puthex:                     ; prints eax as 8 hex digits
    mov ecx, 8
.digit:
    rol eax, 4
    push eax
    and al, 15
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 7
.out:
    call putc
    pop eax
    dec ecx
    jnz .digit
    ret

msg_go:  db "go", 10, 0
msg_end: db "end ", 0
align 8
factor:  dq 0.999999
result:  dd 0
load_end:

align 16
buffer:  times 65536 db 0
buffer2: times 65536 db 0
         times 8192 db 0
stack_top:
bss_end:

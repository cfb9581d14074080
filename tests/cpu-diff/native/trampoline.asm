; Entry and exit stubs for the native cpu-diff harness (assembled with nasm -f elf32).
;
; The snippet must start with exactly the architectural state the test case asks for, so
; the switch into it is done here in assembly: C cannot load all eight GPRs (ESP included,
; which points into the data window) and EFLAGS and then jump without touching them.
; Everything is addressed absolutely; the harness is linked -no-pie.
bits 32

global cd_run, cd_snippet_return, cd_fault_return
global cd_in_regs, cd_in_eflags, cd_out_regs, cd_out_eflags
global cd_fpu_in, cd_fpu_out, cd_has_fpu, cd_entry, cd_in_snippet

section .bss
alignb 16
cd_in_regs:    resd 8     ; eax ecx edx ebx esp ebp esi edi (ModRM register order)
cd_out_regs:   resd 8
cd_in_eflags:  resd 1
cd_out_eflags: resd 1
cd_has_fpu:    resd 1     ; nonzero: FRSTOR cd_fpu_in before running, else FNINIT
cd_entry:      resd 1     ; linear address of the snippet (CODE_BASE)
cd_in_snippet: resd 1     ; 1 while snippet code runs: tells the signal handler whose fault it is
host_esp:      resd 1
host_gs:       resd 1
alignb 16
cd_fpu_in:     resb 108   ; 32-bit protected-mode FSAVE image
alignb 16
cd_fpu_out:    resb 108

section .text

; void cd_run(void): runs the snippet prepared in the globals above. Returns through
; cd_snippet_return (the snippet's trailing jmp) or cd_fault_return (the signal handler
; rewrites the interrupted EIP to it).
cd_run:
    push ebp
    push ebx
    push esi
    push edi
    mov [host_esp], esp
    mov [host_gs], gs               ; glibc's TLS selector; restored on the way out
    cmp dword [cd_has_fpu], 0
    je .fninit
    frstor [cd_fpu_in]
    jmp .fpu_ready
.fninit:
    fninit
.fpu_ready:
    push dword [cd_in_eflags]
    popfd                           ; from here on only MOV and JMP: they leave EFLAGS alone
    mov eax, [cd_in_regs + 0]
    mov ecx, [cd_in_regs + 4]
    mov edx, [cd_in_regs + 8]
    mov ebx, [cd_in_regs + 12]
    mov ebp, [cd_in_regs + 20]
    mov esi, [cd_in_regs + 24]
    mov edi, [cd_in_regs + 28]
    mov esp, [cd_in_regs + 16]
    mov dword [cd_in_snippet], 1
    jmp [cd_entry]

; Reached by the jmp the harness appends at CODE_BASE + code length. The snippet's ESP may
; point anywhere, so registers are stored before the harness stack is taken back.
cd_snippet_return:
    mov dword [cd_in_snippet], 0
    mov [cd_out_regs + 0], eax
    mov [cd_out_regs + 4], ecx
    mov [cd_out_regs + 8], edx
    mov [cd_out_regs + 12], ebx
    mov [cd_out_regs + 16], esp
    mov [cd_out_regs + 20], ebp
    mov [cd_out_regs + 24], esi
    mov [cd_out_regs + 28], edi
    mov esp, [host_esp]
    pushfd
    pop dword [cd_out_eflags]
    jmp leave_snippet

; The signal handler has already copied the faulting state out of the ucontext.
cd_fault_return:
    mov esp, [host_esp]

leave_snippet:
    cld                             ; the C ABI requires DF = 0
    mov ax, ss                      ; DS/ES as the process had them
    mov ds, ax
    mov es, ax
    mov gs, [host_gs]
    fnsave [cd_fpu_out]             ; no-wait form: a pending x87 exception must not fire here
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

section .note.GNU-stack noalloc noexec nowrite progbits   ; no executable stack needed

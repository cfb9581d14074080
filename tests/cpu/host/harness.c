/*
 * Host oracle for the tests in tests/cpu: runs x86 snippets natively (built
 * with gcc -m32 -no-pie) on given registers, EFLAGS and data window, and
 * reports the registers, EFLAGS, exception vector and window afterwards.
 *
 *   harness < batch > results
 *
 * Batch (little-endian u32 words): count, then per case: code length, code
 * bytes (padded to 4), 8 GPRs (EAX..EDI), EFLAGS, window length, window bytes
 * (padded to 4). Result per case: 8 GPRs, EFLAGS, vector (-1: none), window.
 * The snippet runs at CODE_BASE with the window at WINDOW_BASE, the same
 * addresses src/x86/testing/flat-runner.ts uses, so pointers mean the same.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_BASE 0x00100000u
#define CODE_PAGE 4096u
#define WINDOW_BASE 0x00200000u
#define WINDOW_MAX 0x10000u

uint32_t in_regs[8], out_regs[8], in_eflags, out_eflags, saved_esp, code_entry = CODE_BASE;
static volatile int32_t vector;

void run_snippet(void);
extern char snippet_return[], fault_return[];

/* Loads the case's registers and flags (MOVs do not touch flags), jumps to
 * the snippet, which ends with a jump to snippet_return. */
__asm__(
    ".text\n"
    ".globl run_snippet\n"
    "run_snippet:\n"
    "  pushal\n"
    "  movl %esp, saved_esp\n"
    "  pushl in_eflags\n"
    "  popfl\n"
    "  movl in_regs+0, %eax\n"
    "  movl in_regs+4, %ecx\n"
    "  movl in_regs+8, %edx\n"
    "  movl in_regs+12, %ebx\n"
    "  movl in_regs+20, %ebp\n"
    "  movl in_regs+24, %esi\n"
    "  movl in_regs+28, %edi\n"
    "  movl in_regs+16, %esp\n"
    "  jmp *code_entry\n"
    ".globl snippet_return\n"
    "snippet_return:\n"
    "  movl %eax, out_regs+0\n"
    "  movl %ecx, out_regs+4\n"
    "  movl %edx, out_regs+8\n"
    "  movl %ebx, out_regs+12\n"
    "  movl %esp, out_regs+16\n"
    "  movl %ebp, out_regs+20\n"
    "  movl %esi, out_regs+24\n"
    "  movl %edi, out_regs+28\n"
    "  movl saved_esp, %esp\n"
    "  pushfl\n"
    "  popl out_eflags\n"
    ".globl fault_return\n"
    "fault_return:\n"
    "  movl saved_esp, %esp\n"
    "  cld\n"
    "  popal\n"
    "  ret\n");

static void on_signal(int sig, siginfo_t *si, void *ctx) {
    (void)si;
    ucontext_t *uc = ctx;
    greg_t *g = uc->uc_mcontext.gregs;
    if ((uint32_t)g[REG_EIP] - CODE_BASE >= CODE_PAGE) {
        signal(sig, SIG_DFL); /* a fault in the harness itself: crash loudly */
        return;
    }
    vector = (int32_t)g[REG_TRAPNO];
    const int order[8] = {REG_EAX, REG_ECX, REG_EDX, REG_EBX, REG_ESP, REG_EBP, REG_ESI, REG_EDI};
    for (int r = 0; r < 8; r++) out_regs[r] = (uint32_t)g[order[r]];
    out_eflags = (uint32_t)g[REG_EFL];
    g[REG_EIP] = (greg_t)(uintptr_t)fault_return;
    g[REG_EFL] &= ~(greg_t)0x40500; /* TF, DF, AC off for the harness */
}

static void die(const char *m) { fprintf(stderr, "harness: %s\n", m); exit(2); }

static void rd(void *p, size_t n) { if (fread(p, 1, n, stdin) != n) die("truncated batch"); }
static uint32_t rd32(void) { uint32_t v; rd(&v, 4); return v; }
static void wr(const void *p, size_t n) { if (fwrite(p, 1, n, stdout) != n) die("write failed"); }

int main(void) {
    static uint8_t alt[65536];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
    if (sigaltstack(&ss, NULL)) die("sigaltstack");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP};
    for (unsigned k = 0; k < sizeof sigs / sizeof *sigs; k++) sigaction(sigs[k], &sa, NULL);
    uint8_t *code = mmap((void *)CODE_BASE, CODE_PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    uint8_t *win = mmap((void *)WINDOW_BASE, WINDOW_MAX, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (code != (void *)CODE_BASE || win != (void *)WINDOW_BASE) die("cannot map fixed addresses");

    uint32_t count = rd32();
    for (uint32_t c = 0; c < count; c++) {
        uint32_t len = rd32();
        if (len > CODE_PAGE - 8) die("code too long");
        rd(code, (len + 3) & ~3u);
        /* jmp snippet_return */
        code[len] = 0xe9;
        int32_t rel = (int32_t)((uintptr_t)snippet_return - (CODE_BASE + len + 5));
        memcpy(code + len + 1, &rel, 4);
        rd(in_regs, sizeof in_regs);
        in_eflags = (rd32() & 0xcd5) | 0x202;
        uint32_t wlen = rd32();
        if (wlen > WINDOW_MAX) die("window too long");
        rd(win, (wlen + 3) & ~3u);
        vector = -1;
        __builtin___clear_cache((char *)code, (char *)code + len + 5);
        run_snippet();
        wr(out_regs, sizeof out_regs);
        wr(&out_eflags, 4);
        int32_t v = vector;
        wr(&v, 4);
        wr(win, (wlen + 3) & ~3u);
    }
    return 0;
}

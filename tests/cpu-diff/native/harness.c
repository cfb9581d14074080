/*
 * Native oracle for the cpu-diff suite: runs a batch of x86 snippets on the host CPU.
 *
 *   harness BATCH_FILE RESULT_FILE
 *
 * Built with gcc -m32 -no-pie together with trampoline.asm. The binary formats are described
 * in ../lib/batch-format.ts, which is the single definition both sides follow. One process
 * runs many cases: the code page (CODE_BASE) and the data window (WINDOW_BASE) are mapped
 * once, and a faulting snippet is recovered by rewriting the interrupted EIP in the signal
 * handler to cd_fault_return (the kernel's sigreturn then restores the signal mask, so no
 * sigsetjmp/siglongjmp mask syscalls are needed per case). cd_in_snippet tells a snippet's
 * fault (anywhere: it may have jumped to an unmapped target) from a bug in the harness.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_BASE 0x00100000u
#define CODE_PAGE 4096u
#define WINDOW_BASE 0x00200000u
#define MAX_WINDOW 65536u
#define FPU_IMAGE 108u
#define BATCH_MAGIC 0x31424443u  /* "CDB1" */
#define RESULT_MAGIC 0x31524443u /* "CDR1" */
#define JMP_LEN 5u
#define VECTOR_NONE (-1)
#define VECTOR_TIMEOUT (-2)
#define WATCHDOG_MS 100
#define WATCHDOG_STRIKES 3 /* a case still running after 2-3 ticks is aborted */

extern uint32_t cd_in_regs[8], cd_out_regs[8], cd_in_eflags, cd_out_eflags;
extern volatile uint32_t cd_in_snippet;
extern uint32_t cd_has_fpu, cd_entry;
extern uint8_t cd_fpu_in[FPU_IMAGE], cd_fpu_out[FPU_IMAGE];
extern void cd_run(void);
extern char cd_snippet_return[], cd_fault_return[];

/* What the signal handler learned about the current case. */
static volatile int32_t fault_vector;
static volatile uint32_t fault_error, fault_eip, fault_addr, fault_signal;
static volatile uint32_t case_serial;

static void die(const char *msg) {
    fprintf(stderr, "cpu-diff harness: %s\n", msg);
    exit(2);
}


static void on_signal(int sig, siginfo_t *si, void *ctx) {
    static uint32_t watched_serial, strikes;
    ucontext_t *uc = ctx;
    greg_t *g = uc->uc_mcontext.gregs;
    uint32_t eip = (uint32_t)g[REG_EIP];

    if (sig == SIGALRM) {
        /* Watchdog tick: abort a snippet that stays in the same case for several ticks. */
        if (!cd_in_snippet) return;
        if (watched_serial != case_serial) { watched_serial = case_serial; strikes = 1; return; }
        if (++strikes < WATCHDOG_STRIKES) return;
        fault_vector = VECTOR_TIMEOUT;
        fault_error = 0;
    } else {
        if (!cd_in_snippet) {
            /* A fault in the harness itself is a bug here, not a test result: crash loudly. */
            char m[160];
            int n = snprintf(m, sizeof m, "cpu-diff harness: signal %d (trap %d) at eip %08x outside the snippet, in case %u\n",
                             sig, (int)g[REG_TRAPNO], eip, case_serial - 1);
            (void)!write(2, m, (size_t)n);
            signal(sig, SIG_DFL);
            return;
        }
        fault_vector = (int32_t)g[REG_TRAPNO];
        fault_error = (uint32_t)g[REG_ERR];
    }
    fault_signal = (uint32_t)sig;
    fault_eip = eip;
    fault_addr = (uint32_t)(uintptr_t)si->si_addr;
    cd_out_regs[0] = (uint32_t)g[REG_EAX];
    cd_out_regs[1] = (uint32_t)g[REG_ECX];
    cd_out_regs[2] = (uint32_t)g[REG_EDX];
    cd_out_regs[3] = (uint32_t)g[REG_EBX];
    cd_out_regs[4] = (uint32_t)g[REG_ESP];
    cd_out_regs[5] = (uint32_t)g[REG_EBP];
    cd_out_regs[6] = (uint32_t)g[REG_ESI];
    cd_out_regs[7] = (uint32_t)g[REG_EDI];
    cd_out_eflags = (uint32_t)g[REG_EFL];
    cd_in_snippet = 0;
    g[REG_EIP] = (greg_t)(uintptr_t)cd_fault_return;
    g[REG_EFL] &= ~(greg_t)(0x100 | 0x40000); /* drop TF and AC before resuming the harness */
}

static void install_handlers(void) {
    static uint8_t alt_stack[65536];
    stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack, .ss_flags = 0};
    /* The snippet's ESP points into the data window: a signal frame there would corrupt it. */
    if (sigaltstack(&ss, NULL)) die("sigaltstack failed");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGALRM};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], &sa, NULL)) die("sigaction failed");
    struct itimerval it = {{0, WATCHDOG_MS * 1000}, {0, WATCHDOG_MS * 1000}};
    if (setitimer(ITIMER_REAL, &it, NULL)) die("setitimer failed");
}

static void *map_fixed(uint32_t addr, uint32_t len, int prot) {
    void *p = mmap((void *)(uintptr_t)addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)(uintptr_t)addr) die("cannot map the fixed code/window address (already in use?)");
    return p;
}

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open batch file");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) die("cannot read batch file");
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Little-endian cursor over the batch file; every read is bounds-checked. */
typedef struct { const uint8_t *start, *p, *end; } reader;
static const uint8_t *take(reader *r, size_t n) {
    if ((size_t)(r->end - r->p) < n) die("batch file truncated");
    const uint8_t *q = r->p;
    r->p += n;
    return q;
}
static uint32_t u32(reader *r) { uint32_t v; memcpy(&v, take(r, 4), 4); return v; }
static uint16_t u16(reader *r) { uint16_t v; memcpy(&v, take(r, 2), 2); return v; }
static void align4(reader *r) { while (r->p < r->end && ((r->p - r->start) & 3)) r->p++; }

/* The window's initial contents: xorshift32 words from the case's seed (see batch-format.ts). */
static void fill_window(uint8_t *dst, uint32_t len, uint32_t seed) {
    uint32_t s = seed ? seed : 1;
    for (uint32_t i = 0; i < len; i += 4) {
        s ^= s << 13; s ^= s >> 17; s ^= s << 5;
        memcpy(dst + i, &s, 4);
    }
}

static FILE *out;
static void put(const void *p, size_t n) { if (fwrite(p, 1, n, out) != n) die("cannot write result file"); }
static void put32(uint32_t v) { put(&v, 4); }
static void put16(uint16_t v) { put(&v, 2); }

/* Writes the changed bytes of the window as (offset, length, bytes) runs. */
static void put_window_runs(const uint8_t *before, const uint8_t *after, uint32_t len) {
    uint32_t count = 0, total = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) { put16((uint16_t)count); put16(0); }
        for (uint32_t i = 0; i < len;) {
            if (before[i] == after[i]) { i++; continue; }
            uint32_t j = i;
            while (j < len && j - i < 0xffff && before[j] != after[j]) j++;
            if (pass == 0) { count++; total += 4 + (j - i); }
            else { put16((uint16_t)i); put16((uint16_t)(j - i)); put(after + i, j - i); }
            i = j;
        }
    }
    if (count > 0xffff) die("too many window runs");
    static const uint8_t pad[3];
    put(pad, (4 - (total & 3)) & 3);
}

int main(int argc, char **argv) {
    if (argc != 3) die("usage: harness BATCH_FILE RESULT_FILE");
    size_t len;
    uint8_t *batch = read_file(argv[1], &len);
    reader r = {batch, batch, batch + len};
    if (u32(&r) != BATCH_MAGIC) die("bad batch magic");
    uint32_t count = u32(&r), window_size = u32(&r);
    (void)u32(&r);
    if (!window_size || window_size > MAX_WINDOW || window_size % 4096) die("bad window size");

    uint8_t *code = map_fixed(CODE_BASE, CODE_PAGE, PROT_READ | PROT_WRITE | PROT_EXEC);
    uint8_t *window = map_fixed(WINDOW_BASE, window_size, PROT_READ | PROT_WRITE);
    uint8_t *initial = malloc(window_size);
    if (!initial) die("out of memory");
    out = fopen(argv[2], "wb");
    if (!out) die("cannot open result file");
    put32(RESULT_MAGIC);
    put32(count);
    install_handlers();
    cd_entry = CODE_BASE;

    for (uint32_t n = 0; n < count; n++) {
        uint16_t code_len = u16(&r);
        uint8_t flags = *take(&r, 1);
        (void)take(&r, 1);
        memcpy(cd_in_regs, take(&r, 32), 32);
        cd_in_eflags = u32(&r);
        uint32_t seed = u32(&r);
        uint16_t patches = u16(&r);
        (void)u16(&r);
        fill_window(initial, window_size, seed);
        for (uint16_t p = 0; p < patches; p++) {
            uint16_t off = u16(&r), plen = u16(&r);
            if ((uint32_t)off + plen > window_size) die("window patch out of range");
            memcpy(initial + off, take(&r, plen), plen);
        }
        align4(&r);
        cd_has_fpu = flags & 1;
        if (cd_has_fpu) memcpy(cd_fpu_in, take(&r, FPU_IMAGE), FPU_IMAGE);
        if (code_len + JMP_LEN > CODE_PAGE) die("snippet too long");
        memcpy(code, take(&r, code_len), code_len);
        align4(&r);
        /* jmp rel32 back into the harness, at the address where ts86 stops. */
        uint32_t end = CODE_BASE + code_len;
        int32_t rel = (int32_t)((uint32_t)(uintptr_t)cd_snippet_return - (end + JMP_LEN));
        code[code_len] = 0xe9;
        memcpy(code + code_len + 1, &rel, 4);
        memcpy(window, initial, window_size);

        fault_vector = VECTOR_NONE;
        fault_error = fault_eip = fault_addr = fault_signal = 0;
        case_serial++;
        cd_run();

        put(cd_out_regs, 32);
        put32(cd_out_eflags);
        put32(fault_vector == VECTOR_NONE ? end : fault_eip);
        put32((uint32_t)fault_vector);
        put32(fault_error);
        put32(fault_addr);
        put32(fault_signal);
        put(cd_fpu_out, FPU_IMAGE);
        put_window_runs(initial, window, window_size);
    }
    if (r.p != r.end) die("trailing bytes in batch file");
    if (fclose(out)) die("cannot close result file");
    return 0;
}

/*
 * Native x87 oracle for the ts86 FPU differential tests (built with gcc -m32
 * at test time, never committed as a binary).
 *
 * Protocol (little-endian, binary, on stdin/stdout):
 *   startup: writes u32 code address, u32 memory-buffer address, u32 address
 *            of the guarded page, so the test can reproduce FIP/FDP exactly.
 *   per case in : u8 codeLen, u8 pad, u16 memLen, u32 eflags, i32 cross,
 *                 code[codeLen], fsave image[108] (32-bit protected format),
 *                 mem[memLen]
 *   per case out: u32 signal (0 = none), u32 eflags, fsave image[108],
 *                 mem[memLen]
 * The instruction runs with EAX pointing at the (16-byte aligned) memory
 * buffer, so memory forms use ModRM mod=00 rm=000 ([eax]). With cross != 0
 * the operand straddles an edge of the guarded page, a read/write page
 * between two PROT_NONE pages: cross > 0 puts its first `cross` bytes at the
 * end of the page, cross < 0 puts its first -cross bytes in the PROT_NONE
 * page below. The instruction then faults (SIGSEGV) unless it does not
 * access the operand; the reported state is the one at the signal (from the
 * signal frame), and the reported memory holds the accessible bytes as left
 * (the others as sent). FRSTOR loads the
 * whole input state, the instruction runs, and FNSAVE (a no-wait
 * instruction) captures the whole state, so unmasked exceptions are observed
 * as ES/B in the saved status word without ever trapping.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile int gotsig;
/* The FPU state at the signal, in FSAVE layout (the i386 signal frame's
 * struct _libc_fpstate starts with the 108-byte FSAVE image); the handler
 * itself runs with a fresh FPU, and siglongjmp does not restore it. */
static unsigned char sigstate[108];
static volatile int havesigstate;
static void onsig(int s, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  (void)si;
  havesigstate = 0;
  if (uc && uc->uc_mcontext.fpregs) {
    memcpy(sigstate, uc->uc_mcontext.fpregs, 108);
    havesigstate = 1;
  }
  gotsig = s;
  siglongjmp(jb, 1);
}

static int readall(void *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(0, (char *)p + got, n - got);
    if (r <= 0) return 0;
    got += (size_t)r;
  }
  return 1;
}

static unsigned char outbuf[1 << 16];
static size_t outlen;
static void out(const void *p, size_t n) {
  if (outlen + n > sizeof outbuf) { fwrite(outbuf, 1, outlen, stdout); outlen = 0; }
  memcpy(outbuf + outlen, p, n);
  outlen += n;
}

int main(void) {
  unsigned char *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  static unsigned char mem[1024] __attribute__((aligned(64)));
  static unsigned char stin[108], stout[108];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = onsig;
  sa.sa_flags = SA_NODEFER | SA_SIGINFO;
  sigaction(SIGILL, &sa, 0);
  sigaction(SIGFPE, &sa, 0);
  sigaction(SIGSEGV, &sa, 0);
  sigaction(SIGBUS, &sa, 0);
  unsigned char *guard = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED || guard == MAP_FAILED) return 2;
  mprotect(guard, 4096, PROT_NONE);
  mprotect(guard + 2 * 4096, 4096, PROT_NONE);
  unsigned char *page = guard + 4096;
  uint32_t addrs[3] = { (uint32_t)(uintptr_t)code, (uint32_t)(uintptr_t)mem, (uint32_t)(uintptr_t)page };
  out(addrs, 12);
  fwrite(outbuf, 1, outlen, stdout); fflush(stdout); outlen = 0;
  for (;;) {
    unsigned char hdr[12];
    if (!readall(hdr, 12)) break;
    unsigned codeLen = hdr[0], memLen = hdr[2] | (hdr[3] << 8);
    int32_t cross;
    memcpy(&cross, hdr + 8, 4);
    if (cross > 4096 || cross < -4096) return 2;
    uint32_t fl;
    memcpy(&fl, hdr + 4, 4);
    if (!readall(code, codeLen) || !readall(stin, 108) || (memLen && !readall(mem, memLen))) break;
    code[codeLen] = 0xC3; /* ret */
    memset(stout, 0, 108);
    uint32_t sig = 0;
    gotsig = 0;
    /* The operand and its accessible bytes [lo, hi) (relative to the operand). */
    unsigned char *op = mem;
    unsigned lo = 0, hi = memLen;
    if (cross > 0) {
      op = page + 4096 - cross;
      hi = (unsigned)cross < memLen ? (unsigned)cross : memLen;
    } else if (cross < 0) {
      op = page + cross;
      lo = (unsigned)-cross < memLen ? (unsigned)-cross : memLen;
    }
    if (op != mem && hi > lo) memcpy(op + lo, mem + lo, hi - lo);
    if (sigsetjmp(jb, 1) == 0) {
      void *m = op;
      __asm__ volatile(
          "frstor (%2)\n\t"
          "pushl (%4)\n\t"
          "popfl\n\t"
          "call *%1\n\t"
          "pushfl\n\t"
          "popl (%4)\n\t"
          "fnsave (%3)\n\t"
          : "+a"(m)
          : "r"(code), "r"(stin), "r"(stout), "r"(&fl)
          : "memory", "cc", "edx");
    } else {
      sig = (uint32_t)gotsig;
      __asm__ volatile("fnsave (%0)\n\tfninit" : : "r"(stout) : "memory");
      if (havesigstate) memcpy(stout, sigstate, 108);
    }
    if (op != mem && hi > lo) memcpy(mem + lo, op + lo, hi - lo);
    out(&sig, 4);
    out(&fl, 4);
    out(stout, 108);
    out(mem, memLen);
    if (outlen > sizeof outbuf / 2) { fwrite(outbuf, 1, outlen, stdout); outlen = 0; }
  }
  fwrite(outbuf, 1, outlen, stdout);
  fflush(stdout);
  return 0;
}

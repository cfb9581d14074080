/*
 * Native x87 oracle for the ts86 FPU differential tests (built with gcc -m32
 * at test time, never committed as a binary).
 *
 * Protocol (little-endian, binary, on stdin/stdout):
 *   startup: writes u32 code address, u32 memory-buffer address, so the test
 *            can reproduce FIP/FDP exactly.
 *   per case in : u8 codeLen, u8 pad, u16 memLen, u32 eflags,
 *                 code[codeLen], fsave image[108] (32-bit protected format),
 *                 mem[memLen]
 *   per case out: u32 signal (0 = none), u32 eflags, fsave image[108],
 *                 mem[memLen]
 * The instruction runs with EAX pointing at the (16-byte aligned) memory
 * buffer, so memory forms use ModRM mod=00 rm=000 ([eax]). FRSTOR loads the
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
#include <unistd.h>

static sigjmp_buf jb;
static volatile int gotsig;
static void onsig(int s) { gotsig = s; siglongjmp(jb, 1); }

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
  sa.sa_handler = onsig;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGILL, &sa, 0);
  sigaction(SIGFPE, &sa, 0);
  sigaction(SIGSEGV, &sa, 0);
  sigaction(SIGBUS, &sa, 0);
  uint32_t addrs[2] = { (uint32_t)(uintptr_t)code, (uint32_t)(uintptr_t)mem };
  out(addrs, 8);
  fwrite(outbuf, 1, outlen, stdout); fflush(stdout); outlen = 0;
  for (;;) {
    unsigned char hdr[8];
    if (!readall(hdr, 8)) break;
    unsigned codeLen = hdr[0], memLen = hdr[2] | (hdr[3] << 8);
    uint32_t fl;
    memcpy(&fl, hdr + 4, 4);
    if (!readall(code, codeLen) || !readall(stin, 108) || (memLen && !readall(mem, memLen))) break;
    code[codeLen] = 0xC3; /* ret */
    memset(stout, 0, 108);
    uint32_t sig = 0;
    gotsig = 0;
    if (sigsetjmp(jb, 1) == 0) {
      void *m = mem;
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
    }
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

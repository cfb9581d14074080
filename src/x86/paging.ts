// Page-table walks (SDM vol. 3, ch. 4): 32-bit paging with 4 KiB and 4 MiB
// (PSE) pages, and PAE paging with 4 KiB and 2 MiB pages and the NX bit.
// A walk sets the accessed and dirty bits as hardware does, checks
// permissions and reserved bits, and either returns the physical page with
// TLB permission bits or raises #PF with CR2 and the error code set. PAE's
// four PDPTEs are cached in registers when CR3 is loaded, as hardware does.
import {
  S, CR0_WP, CR0_PG, CR4_PSE, CR4_PAE, CR4_PGE, TLB_READ, TLB_WRITE, TLB_USER_READ, TLB_USER_WRITE, TLB_GLOBAL,
  TLB_NOEXEC,
} from './state.ts';
import { Vec } from './faults.ts';
import type { Cpu } from './cpu.ts';

export const ACCESS_READ = 0, ACCESS_WRITE = 1, ACCESS_EXEC = 2;

export const EFER_NXE = 1 << 11;

const PF_PRESENT = 1, PF_WRITE = 2, PF_USER = 4, PF_RSVD = 8, PF_FETCH = 16;

/** Physical-address width (MAXPHYADDR) of a P6 with PAE: 36 bits. Entry bits 63:36 are reserved. */
const PAE_RESERVED_HIGH = 0xfffffff0 | 0;
/** Reserved bits of a present PDPTE's low dword (2:1 and 8:5). */
const PDPTE_RESERVED_LOW = 0x1e6;
/** A 4 MiB PDE without PSE-36: bits 21:13 are reserved. */
const PSE_RESERVED = 0x3fe000;
/** A 2 MiB PAE PDE: bits 20:13 are reserved. */
const PAE_LARGE_RESERVED = 0x1fe000;

function pageFault(cpu: Cpu, lin: number, code: number): never {
  cpu.st[S.CR + 2] = lin;
  return cpu.raise(Vec.PF, code);
}

/**
 * Walks the page tables for `lin`. Returns (physical page address | TLB flag bits).
 * `cpu.supervisorOverride` makes implicit system accesses (GDT/IDT/TSS) supervisor accesses.
 */
export function walkPageTables(cpu: Cpu, lin: number, access: number): number {
  const st = cpu.st;
  const user = st[S.CPL] === 3 && !cpu.supervisorOverride;
  return st[S.CR + 4] & CR4_PAE ? walkPae(cpu, lin, access, user) : walkLegacy(cpu, lin, access, user);
}

function errorBits(access: number, user: boolean, nxe: boolean): number {
  return (access === ACCESS_WRITE ? PF_WRITE : 0) | (user ? PF_USER : 0) | (access === ACCESS_EXEC && nxe ? PF_FETCH : 0);
}

/** Permission check shared by both formats; returns the TLB flags for a successful access. */
function permit(cpu: Cpu, lin: number, access: number, user: boolean, userPage: boolean, writable: boolean,
  dirty: boolean, global: boolean, noExec: boolean, nxe: boolean): number {
  const st = cpu.st;
  const wp = (st[S.CR] & CR0_WP) !== 0;
  const err = errorBits(access, user, nxe) | PF_PRESENT;
  if (user && !userPage) pageFault(cpu, lin, err);
  if (access === ACCESS_WRITE && !writable && (user || wp)) pageFault(cpu, lin, err);
  if (access === ACCESS_EXEC && noExec) pageFault(cpu, lin, err);
  let flags = TLB_READ;
  // Writes go through the slow path until the dirty bit is set, so it gets set.
  if (dirty && (writable || !wp)) flags |= TLB_WRITE;
  if (userPage) {
    flags |= TLB_USER_READ;
    if (dirty && writable) flags |= TLB_USER_WRITE;
  }
  if (global && (st[S.CR + 4] & CR4_PGE)) flags |= TLB_GLOBAL;
  if (noExec) flags |= TLB_NOEXEC;
  return flags;
}

/** Sets the accessed (and for writes, dirty) bit of a leaf entry if not yet set. */
function markLeaf(cpu: Cpu, addr: number, entry: number, access: number): void {
  const upd = entry | 0x20 | (access === ACCESS_WRITE ? 0x40 : 0);
  if (upd !== entry) cpu.writePhys32(addr, upd);
}

/** Sets the accessed bit of a directory entry the walk goes through (before the next level is checked). */
function markDirectory(cpu: Cpu, addr: number, entry: number): void {
  if (!(entry & 0x20)) cpu.writePhys32(addr, entry | 0x20);
}

function walkLegacy(cpu: Cpu, lin: number, access: number, user: boolean): number {
  const st = cpu.st;
  const a20 = st[S.A20_MASK];
  const pdeAddr = (((st[S.CR + 3] & ~0xfff) + ((lin >>> 22) << 2)) & a20) >>> 0;
  const pde = cpu.readPhys32(pdeAddr);
  if (!(pde & 1)) pageFault(cpu, lin, errorBits(access, user, false));
  if ((pde & 0x80) && (st[S.CR + 4] & CR4_PSE)) {
    if (pde & PSE_RESERVED) pageFault(cpu, lin, errorBits(access, user, false) | PF_PRESENT | PF_RSVD);
    const flags = permit(cpu, lin, access, user, (pde & 4) !== 0, (pde & 2) !== 0,
      access === ACCESS_WRITE || (pde & 0x40) !== 0, (pde & 0x100) !== 0, false, false);
    markLeaf(cpu, pdeAddr, pde, access);
    largePagesCached = true;
    return ((pde & 0xffc00000) | (lin & 0x3ff000)) | flags;
  }
  markDirectory(cpu, pdeAddr, pde);
  const pteAddr = (((pde & ~0xfff) + (((lin >>> 12) & 0x3ff) << 2)) & a20) >>> 0;
  const pte = cpu.readPhys32(pteAddr);
  if (!(pte & 1)) pageFault(cpu, lin, errorBits(access, user, false));
  const flags = permit(cpu, lin, access, user, (pde & pte & 4) !== 0, (pde & pte & 2) !== 0,
    access === ACCESS_WRITE || (pte & 0x40) !== 0, (pte & 0x100) !== 0, false, false);
  markLeaf(cpu, pteAddr, pte, access);
  return (pte & ~0xfff) | flags;
}

function walkPae(cpu: Cpu, lin: number, access: number, user: boolean): number {
  const st = cpu.st;
  const a20 = st[S.A20_MASK];
  const nxe = (st[S.EFER] & EFER_NXE) !== 0;
  // Without NXE, bit 63 (XD) is reserved as well.
  const reservedHigh = nxe ? PAE_RESERVED_HIGH & 0x7fffffff : PAE_RESERVED_HIGH;
  const err = errorBits(access, user, nxe);

  const pdpte = st[S.PDPTE + 2 * (lin >>> 30)];
  if (!(pdpte & 1)) pageFault(cpu, lin, err);

  const pdeAddr = (((pdpte & ~0xfff) + (((lin >>> 21) & 0x1ff) << 3)) & a20) >>> 0;
  const pde = cpu.readPhys32(pdeAddr);
  const pdeHi = cpu.readPhys32(pdeAddr + 4);
  if (!(pde & 1)) pageFault(cpu, lin, err);
  if (pdeHi & reservedHigh) pageFault(cpu, lin, err | PF_PRESENT | PF_RSVD);
  if (pde & 0x80) {
    if (pde & PAE_LARGE_RESERVED) pageFault(cpu, lin, err | PF_PRESENT | PF_RSVD);
    const noExec = nxe && (pdeHi & 0x80000000) !== 0;
    const flags = permit(cpu, lin, access, user, (pde & 4) !== 0, (pde & 2) !== 0,
      access === ACCESS_WRITE || (pde & 0x40) !== 0, (pde & 0x100) !== 0, noExec, nxe);
    markLeaf(cpu, pdeAddr, pde, access);
    largePagesCached = true;
    return ((pde & 0xffe00000) | (lin & 0x1ff000)) | flags;
  }
  markDirectory(cpu, pdeAddr, pde);
  const pteAddr = (((pde & ~0xfff) + (((lin >>> 12) & 0x1ff) << 3)) & a20) >>> 0;
  const pte = cpu.readPhys32(pteAddr);
  const pteHi = cpu.readPhys32(pteAddr + 4);
  if (!(pte & 1)) pageFault(cpu, lin, err);
  if (pteHi & reservedHigh) pageFault(cpu, lin, err | PF_PRESENT | PF_RSVD);
  const noExec = nxe && ((pdeHi | pteHi) & 0x80000000) !== 0;
  const flags = permit(cpu, lin, access, user, (pde & pte & 4) !== 0, (pde & pte & 2) !== 0,
    access === ACCESS_WRITE || (pte & 0x40) !== 0, (pte & 0x100) !== 0, noExec, nxe);
  markLeaf(cpu, pteAddr, pte, access);
  return (pte & ~0xfff) | flags;
}

// ---------------------------------------------------------------- CR3 and the PDPTE registers

const pdpteScratch = new Int32Array(8);

/** Whether the current CR0/CR4 select PAE paging. */
export function paePagingActive(cpu: Cpu): boolean {
  const st = cpu.st;
  return (st[S.CR] & CR0_PG) !== 0 && (st[S.CR + 4] & CR4_PAE) !== 0;
}

/**
 * Loads the four PDPTEs addressed by `cr3` into the PDPTE registers. A
 * present entry with reserved bits set raises #GP(0) and loads nothing
 * (SDM 4.4.1), which is why the loading instruction must call this first.
 */
export function loadPdptes(cpu: Cpu, cr3: number): void {
  const base = ((cr3 & ~0x1f) & cpu.st[S.A20_MASK]) >>> 0;
  for (let k = 0; k < 8; k++) pdpteScratch[k] = cpu.readPhys32(base + 4 * k);
  for (let k = 0; k < 4; k++) {
    const lo = pdpteScratch[2 * k], hi = pdpteScratch[2 * k + 1];
    if ((lo & 1) && ((lo & PDPTE_RESERVED_LOW) || (hi & PAE_RESERVED_HIGH))) cpu.raise(Vec.GP, 0);
  }
  cpu.st.set(pdpteScratch, S.PDPTE);
}

/** MOV to CR3 (and task switches): new page-directory base; non-global TLB entries go. */
export function loadCr3(cpu: Cpu, v: number): void {
  if (paePagingActive(cpu)) loadPdptes(cpu, v);
  cpu.st[S.CR + 3] = v;
  cpu.flushTlb(false);
}

// ---------------------------------------------------------------- INVLPG

/**
 * Set once a large page has been put in the TLB. The TLB caches a large
 * page as separate 4 KiB entries, so INVLPG must then drop the whole large
 * region around the address (over-invalidating is always allowed).
 * Module-wide rather than per CPU: for another CPU it only costs extra misses.
 */
let largePagesCached = false;

export function invalidatePageMapping(cpu: Cpu, lin: number): void {
  if (!largePagesCached) {
    cpu.invalidatePage(lin);
    return;
  }
  const first = lin & ~0x3fffff;
  for (let k = 0; k < 1024; k++) cpu.invalidatePage(first + (k << 12));
}

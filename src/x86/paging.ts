// Page-table walks: 32-bit paging with 4 KiB and 4 MiB (PSE) pages, and PAE
// paging with 4 KiB and 2 MiB pages and the NX bit. A walk sets the accessed
// and dirty bits as hardware does, checks permissions, and either returns
// the physical page with TLB permission bits or raises #PF with CR2 set.
import {
  S, CR0_WP, CR4_PSE, CR4_PAE, CR4_PGE, TLB_READ, TLB_WRITE, TLB_USER_READ, TLB_USER_WRITE, TLB_GLOBAL, TLB_NOEXEC,
} from './state.ts';
import { Vec } from './faults.ts';
import type { Cpu } from './cpu.ts';

export const ACCESS_READ = 0, ACCESS_WRITE = 1, ACCESS_EXEC = 2;

export const EFER_NXE = 1 << 11;

const PF_PRESENT = 1, PF_WRITE = 2, PF_USER = 4, PF_RSVD = 8, PF_FETCH = 16;

function pageFault(cpu: Cpu, lin: number, code: number): never {
  cpu.st[S.CR + 2] = lin;
  return cpu.raise(Vec.PF, code);
}

/**
 * Walks the page tables for `lin`. Returns (physical page address | TLB flag bits).
 * `cpu.supervisorOverride` makes implicit system accesses (GDT/IDT/TSS reads) count as CPL 0.
 */
export function walkPageTables(cpu: Cpu, lin: number, access: number): number {
  const st = cpu.st;
  const user = st[S.CPL] === 3 && !cpu.supervisorOverride;
  const cr4 = st[S.CR + 4];
  return cr4 & CR4_PAE ? walkPae(cpu, lin, access, user) : walkLegacy(cpu, lin, access, user);
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
  if (dirty && (writable || !wp)) flags |= TLB_WRITE;
  if (userPage) {
    flags |= TLB_USER_READ;
    if (dirty && writable) flags |= TLB_USER_WRITE;
  }
  if (global && (st[S.CR + 4] & CR4_PGE)) flags |= TLB_GLOBAL;
  if (noExec) flags |= TLB_NOEXEC;
  return flags;
}

function walkLegacy(cpu: Cpu, lin: number, access: number, user: boolean): number {
  const st = cpu.st;
  const pdeAddr = ((st[S.CR + 3] & ~0xfff) + ((lin >>> 22) << 2)) >>> 0;
  let pde = cpu.readPhys32(pdeAddr);
  if (!(pde & 1)) pageFault(cpu, lin, errorBits(access, user, false));
  if ((pde & 0x80) && (st[S.CR + 4] & CR4_PSE)) {
    const writable = (pde & 2) !== 0;
    const userPage = (pde & 4) !== 0;
    const flags = permit(cpu, lin, access, user, userPage, writable, access === ACCESS_WRITE || (pde & 0x40) !== 0,
      (pde & 0x100) !== 0, false, false);
    const upd = pde | 0x20 | (access === ACCESS_WRITE ? 0x40 : 0);
    if (upd !== pde) cpu.writePhys32(pdeAddr, upd);
    return ((pde & 0xffc00000) | (lin & 0x3ff000)) | flags;
  }
  const pteAddr = ((pde & ~0xfff) + (((lin >>> 12) & 0x3ff) << 2)) >>> 0;
  let pte = cpu.readPhys32(pteAddr);
  if (!(pte & 1)) pageFault(cpu, lin, errorBits(access, user, false));
  const writable = (pde & pte & 2) !== 0;
  const userPage = (pde & pte & 4) !== 0;
  const flags = permit(cpu, lin, access, user, userPage, writable, access === ACCESS_WRITE || (pte & 0x40) !== 0,
    (pte & 0x100) !== 0, false, false);
  if (!(pde & 0x20)) {
    pde |= 0x20;
    cpu.writePhys32(pdeAddr, pde);
  }
  const upd = pte | 0x20 | (access === ACCESS_WRITE ? 0x40 : 0);
  if (upd !== pte) cpu.writePhys32(pteAddr, upd);
  return (pte & ~0xfff) | flags;
}

function walkPae(cpu: Cpu, lin: number, access: number, user: boolean): number {
  const st = cpu.st;
  const nxe = (st[S.EFER] & EFER_NXE) !== 0;
  // Bits 63 (NX, reserved without NXE) and physical-address bits above what we model are reserved.
  const reservedHigh = nxe ? 0x7fffff00 : 0xffffff00 | 0;
  const rsvd = (hi: number): boolean => (hi & reservedHigh) !== 0;

  const pdpteAddr = ((st[S.CR + 3] & ~0x1f) + ((lin >>> 30) << 3)) >>> 0;
  const pdpte = cpu.readPhys32(pdpteAddr);
  const pdpteHi = cpu.readPhys32(pdpteAddr + 4);
  if (!(pdpte & 1)) pageFault(cpu, lin, errorBits(access, user, nxe));
  if ((pdpte & 0x1e6) || (pdpteHi & 0xffffff00)) pageFault(cpu, lin, errorBits(access, user, nxe) | PF_PRESENT | PF_RSVD);

  const pdeAddr = ((pdpte & ~0xfff) + (((lin >>> 21) & 0x1ff) << 3)) >>> 0;
  let pde = cpu.readPhys32(pdeAddr);
  const pdeHi = cpu.readPhys32(pdeAddr + 4);
  if (!(pde & 1)) pageFault(cpu, lin, errorBits(access, user, nxe));
  if (rsvd(pdeHi)) pageFault(cpu, lin, errorBits(access, user, nxe) | PF_PRESENT | PF_RSVD);
  if (pde & 0x80) {
    if (pde & 0x1fe000) pageFault(cpu, lin, errorBits(access, user, nxe) | PF_PRESENT | PF_RSVD);
    const noExec = nxe && (pdeHi & 0x80000000) !== 0;
    const flags = permit(cpu, lin, access, user, (pde & 4) !== 0, (pde & 2) !== 0,
      access === ACCESS_WRITE || (pde & 0x40) !== 0, (pde & 0x100) !== 0, noExec, nxe);
    const upd = pde | 0x20 | (access === ACCESS_WRITE ? 0x40 : 0);
    if (upd !== pde) cpu.writePhys32(pdeAddr, upd);
    return ((pde & 0xffe00000) | (lin & 0x1ff000)) | flags;
  }
  const pteAddr = ((pde & ~0xfff) + (((lin >>> 12) & 0x1ff) << 3)) >>> 0;
  const pte = cpu.readPhys32(pteAddr);
  const pteHi = cpu.readPhys32(pteAddr + 4);
  if (!(pte & 1)) pageFault(cpu, lin, errorBits(access, user, nxe));
  if (rsvd(pteHi)) pageFault(cpu, lin, errorBits(access, user, nxe) | PF_PRESENT | PF_RSVD);
  const noExec = nxe && ((pdeHi | pteHi) & 0x80000000) !== 0;
  const flags = permit(cpu, lin, access, user, (pde & pte & 4) !== 0, (pde & pte & 2) !== 0,
    access === ACCESS_WRITE || (pte & 0x40) !== 0, (pte & 0x100) !== 0, noExec, nxe);
  if (!(pde & 0x20)) {
    pde |= 0x20;
    cpu.writePhys32(pdeAddr, pde);
  }
  const upd = pte | 0x20 | (access === ACCESS_WRITE ? 0x40 : 0);
  if (upd !== pte) cpu.writePhys32(pteAddr, upd);
  return (pte & ~0xfff) | flags;
}

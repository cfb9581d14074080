// The execute loop: runs decoded blocks, delivers exceptions (escalating to
// #DF and to a triple-fault reset as the SDM's table 6-5 says) and hardware
// interrupts at instruction boundaries. Nothing here allocates.
import { S, FLAG_IF, FLAG_TF } from './state.ts';
import { FAULT, Vec, hasErrorCode, VECTOR_NAMES } from './faults.ts';
import { EXEC } from './table/index.ts';
import { NEEDS_EIP } from './decoder.ts';
import type { Cpu } from './cpu.ts';
import { deliverInterrupt, IntKind } from './interrupts.ts';
import { EXIT_SLOW, EXIT_BRANCH, type Region } from './jit-js/compiler.ts';
import { SCRATCH_SLOT as HEAT_SLOTS, fastIndex } from './block-cache.ts';

const CONTRIBUTORY = new Uint8Array(32);
for (const v of [0, 10, 11, 12, 13]) CONTRIBUTORY[v] = 1;

/**
 * Calls a compiled region. Every region is a different function, so this call
 * site must never be specialised to one of them (the JS engine would inline
 * it and deoptimise the whole dispatch loop at the next region): it is made
 * megamorphic before anything runs.
 */
function callRegion(fn: (entry: number, budget: number) => number, entry: number, budget: number): number {
  return fn(entry, budget);
}
for (let k = 0; k < 8; k++) callRegion(new Function('e', 'b', `return ${k};`) as (e: number, b: number) => number, 0, 0);

/** Counters for --stats and the crash dump. */
export const interpreterCounters = { exceptions: 0, interrupts: 0, tripleFaults: 0 };

/**
 * Runs up to `budget` instructions. Returns how many ran. Stops early when
 * the CPU halts or something sets `cpu.stopRequested`.
 */
export function runInstructions(cpu: Cpu, budget: number): number {
  const st = cpu.st;
  const pool = cpu.pool;
  const def = pool.def;
  const len = pool.len;
  const eipOff = pool.eipOff;
  const jit = cpu.jit;
  const regionOf = jit.regionOf;
  const heat = jit.heat;
  const tlb = cpu.tlb;
  const blocks = cpu.blocks;
  const fastEip = blocks.fastEip, fastTlb = blocks.fastTlb, fastSlot = blocks.fastSlot;
  const entryOf = jit.entryOf;
  const useJit = jit.enabled;
  const hot = jit.hotThreshold;
  let done = 0;
  // Instructions left in a block a compiled region stopped in the middle of
  // (a memory access off its fast path): they run here before anything else,
  // as they would have within the block.
  let rest = 0;
  while (rest > 0 || (done < budget && !cpu.stopRequested)) {
    if (rest === 0) {
      if (st[S.IRQ_PENDING] !== 0 && (st[S.EFLAGS] & FLAG_IF) !== 0 && st[S.INT_SHADOW] === 0) {
        serviceInterrupt(cpu);
      }
      st[S.INT_SHADOW] = 0;
    }
    if (st[S.HALTED] !== 0) break;
    let k = 0;
    let first = -1;
    let blockEip = 0;
    let region: Region | undefined;
    try {
      // The block at CS:EIP: in flat 32-bit code, from the fast lookup cache
      // when it holds this EIP with the code page's current TLB entry.
      blockEip = st[S.EIP];
      let phys = -1;
      if (cpu.flatCode) {
        const h = fastIndex(blockEip);
        const e = tlb[blockEip >>> 12];
        if (fastEip[h] === blockEip && fastTlb[h] === e && (e & cpu.tlbReadMask) !== 0) {
          first = fastSlot[h];
          phys = (e & ~0xfff) | (blockEip & 0xfff);
          const r = (cpu.recentIndex = (cpu.recentIndex + 1) & 15);
          cpu.recentBlocks[r] = blockEip;
          cpu.recentCs32[r] = 1;
        }
      }
      if (first < 0) {
        first = blocks.lookup();
        phys = blocks.lastPhys;
      }
      const singleStep = (st[S.EFLAGS] & FLAG_TF) !== 0;
      if (rest === 0 && useJit && !singleStep) {
        // The JS tier: a compiled region runs this block and whatever it
        // branches to, and then, for as long as nothing else needs the loop
        // above, the regions that follow (a region that left at a branch ran
        // no handler that could have set an interrupt shadow, halted the CPU
        // or changed the mode).
        region = regionOf[first];
        if (region === undefined) {
          if (first < HEAT_SLOTS && heat[first] < hot && ++heat[first] === hot) jit.onHot(first, phys);
        } else {
          let ran = false;
          for (;;) {
            const r = callRegion(region.fn, entryOf[first], budget - done);
            if (r < 0) break;
            region = undefined;
            ran = true;
            done += r;
            const exit = cpu.jitExit;
            if (exit !== EXIT_BRANCH) {
              if (exit === EXIT_SLOW) rest = cpu.jitRest;
              break;
            }
            if (done >= budget || cpu.stopRequested || (st[S.IRQ_PENDING] !== 0 && (st[S.EFLAGS] & FLAG_IF) !== 0) || !cpu.flatCode) break;
            const eip = st[S.EIP];
            const h = fastIndex(eip);
            const e = tlb[eip >>> 12];
            if (fastEip[h] !== eip || fastTlb[h] !== e || (e & cpu.tlbReadMask) === 0) break;
            first = fastSlot[h];
            region = regionOf[first];
            if (region === undefined) break;
          }
          if (ran) continue;
          // The region's guard failed: the interpreter runs the block.
          region = undefined;
        }
      }
      let n = pool.blockLen[first];
      if (rest > 0) {
        if (n > rest) n = rest;
        rest = 0;
      }
      if (singleStep) n = 1;
      const left = budget - done;
      if (n > left) n = left;
      // EIP is written to the state only for handlers that use it; the others
      // get it reconstructed from the block start if they fault.
      let d = 0;
      for (; k < n; k++) {
        const i = first + k;
        d = def[i];
        if (NEEDS_EIP[d] !== 0) {
          const eip = blockEip + eipOff[i];
          st[S.EIP_START] = eip;
          st[S.EIP] = eip + len[i];
        }
        EXEC[d](cpu, i);
        if (st[S.BLOCK_EXIT] !== 0) {
          st[S.BLOCK_EXIT] = 0;
          k++;
          break;
        }
      }
      if (k > 0 && NEEDS_EIP[d] === 0) {
        const last = first + k - 1;
        st[S.EIP] = blockEip + eipOff[last] + len[last];
      }
      done += k;
      if (singleStep && k === 1) {
        // Single-step trap after the instruction (BS in DR6).
        st[S.DR + 6] |= 0x4000;
        if (cpu.exceptionTrap && cpu.exceptionTrap(Vec.DB, -1)) {
          cpu.stopRequested = true;
          break;
        }
        deliverException(cpu, Vec.DB, -1);
      }
    } catch (e) {
      if (region !== undefined) {
        // A compiled region faulted: its site names the instruction; the
        // instructions before it have completed, as in an interpreted block.
        if (e !== FAULT) throw e;
        const f = cpu.jitSite;
        done += cpu.jitDone + region.siteK[f];
        if (region.siteKeep[f] === 0) st[S.EIP_START] = region.siteEip[f];
      } else {
        if (first >= 0) {
          // A handler that keeps EIP in the state may have moved EIP_START on
          // purpose (a task switch faults in the new task's context): keep it.
          if (NEEDS_EIP[def[first + k]] === 0) st[S.EIP_START] = blockEip + eipOff[first + k];
        } else {
          st[S.EIP_START] = st[S.EIP];
        }
        if (e !== FAULT) throw e;
        done += k;
      }
      st[S.EIP] = st[S.EIP_START];
      st[S.BLOCK_EXIT] = 0;
      if (cpu.exceptionTrap && cpu.exceptionTrap(cpu.faultVector, cpu.faultHasCode ? cpu.faultCode : -1)) {
        cpu.stopRequested = true;
        break;
      }
      deliverException(cpu, cpu.faultVector, cpu.faultHasCode ? cpu.faultCode : -1);
    }
  }
  cpu.addInstructions(done);
  if (useJit) jit.ran(done, blocks.slotsInUse);
  return done;
}

function serviceInterrupt(cpu: Cpu): void {
  const st = cpu.st;
  const vector = cpu.intc ? cpu.intc.acknowledge() : -1;
  if (vector < 0) return;
  interpreterCounters.interrupts++;
  st[S.HALTED] = 0;
  try {
    deliverInterrupt(cpu, vector, IntKind.HARDWARE, -1);
  } catch (e) {
    if (e !== FAULT) throw e;
    deliverException(cpu, cpu.faultVector, cpu.faultHasCode ? cpu.faultCode : -1);
  }
}

/**
 * Delivers an exception, handling faults raised during delivery: the
 * benign/contributory/page-fault rules decide between a serial delivery,
 * a double fault, and a triple fault (machine reset).
 */
export function deliverException(cpu: Cpu, vector: number, errorCode: number): void {
  const st = cpu.st;
  let v = vector;
  let code = hasErrorCode(v) ? (errorCode >= 0 ? errorCode : 0) : -1;
  for (;;) {
    interpreterCounters.exceptions++;
    try {
      deliverInterrupt(cpu, v, IntKind.EXCEPTION, code);
      st[S.LAST_ERROR] = code;
      return;
    } catch (e) {
      if (e !== FAULT) throw e;
      const second = cpu.faultVector;
      if (v === Vec.DF) {
        // Any fault while delivering #DF shuts the CPU down (SDM 6.15, interrupt 8).
        interpreterCounters.tripleFaults++;
        cpu.hooks.onReset(`triple fault (${VECTOR_NAMES[second] ?? `vector ${second}`} while delivering #DF)`);
        return;
      }
      const escalate = (CONTRIBUTORY[v] && CONTRIBUTORY[second]) ||
        (v === Vec.PF && (CONTRIBUTORY[second] || second === Vec.PF));
      if (escalate) {
        v = Vec.DF;
        code = 0;
      } else {
        v = second;
        code = hasErrorCode(v) ? cpu.faultCode : -1;
      }
    }
  }
}

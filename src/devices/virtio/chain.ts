// Walks a split-virtqueue descriptor chain (direct, or ending in one indirect
// table) through the DmaSpace, validating everything the driver controls.
// Structural violations throw ChainError: the device cannot trust the chain at
// all and must enter NEEDS_RESET. Buffer contents are not touched here.

import { DmaFault, type DmaSpace } from '../dma-space.ts';
import { DESC_SIZE, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from './constants.ts';

export interface GuestBuffer {
  addr: number;
  len: number;
}

export interface DescriptorChain {
  head: number;
  /** Device-readable buffers, in order (they all precede the writable ones). */
  readable: GuestBuffer[];
  /** Device-writable buffers, in order. */
  writable: GuestBuffer[];
  readableLength: number;
  writableLength: number;
}

export class ChainError extends Error {
  override name = 'ChainError';
}

/** Drivers must not submit chains longer than 2^32 bytes in total (§2.7.5). */
const MAX_CHAIN_BYTES = 2 ** 32;

export interface ChainTable {
  /** Guest address of the descriptor table. */
  addr: number;
  /** Entries in the table (the queue size). */
  size: number;
}

export function walkChain(dma: DmaSpace, table: ChainTable, head: number, indirectAllowed: boolean): DescriptorChain {
  const chain: DescriptorChain = { head, readable: [], writable: [], readableLength: 0, writableLength: 0 };
  let tableAddr = table.addr;
  let tableSize = table.size;
  let inIndirect = false;
  let index = head;
  // A chain can visit each entry of its table at most once; more means a loop.
  let visitsLeft = tableSize;
  for (;;) {
    if (index >= tableSize) {
      throw new ChainError(`descriptor ${index} is outside the ${inIndirect ? 'indirect' : 'descriptor'} table of ${tableSize} entries (chain head ${head})`);
    }
    if (visitsLeft-- === 0) throw new ChainError(`descriptor chain from head ${head} is longer than its table: it loops`);
    const d = readDescriptor(dma, tableAddr + index * DESC_SIZE, head);
    if (d.flags & VIRTQ_DESC_F_INDIRECT) {
      if (!indirectAllowed) throw new ChainError(`chain ${head} uses an indirect table but VIRTIO_F_INDIRECT_DESC was not negotiated`);
      if (inIndirect) throw new ChainError(`chain ${head} nests an indirect table inside an indirect table`);
      if (d.flags & VIRTQ_DESC_F_NEXT) throw new ChainError(`chain ${head} has a descriptor with both INDIRECT and NEXT`);
      if (d.len === 0 || d.len % DESC_SIZE !== 0) throw new ChainError(`chain ${head} has an indirect table of ${d.len} bytes (must be a non-zero multiple of 16)`);
      tableAddr = d.addr;
      tableSize = d.len / DESC_SIZE;
      inIndirect = true;
      index = 0;
      visitsLeft = tableSize;
      continue;
    }
    if (d.len > 0) {
      if (d.flags & VIRTQ_DESC_F_WRITE) {
        chain.writable.push({ addr: d.addr, len: d.len });
        chain.writableLength += d.len;
      } else {
        if (chain.writable.length > 0) throw new ChainError(`chain ${head} has a device-readable buffer after a device-writable one`);
        chain.readable.push({ addr: d.addr, len: d.len });
        chain.readableLength += d.len;
      }
      if (chain.readableLength + chain.writableLength > MAX_CHAIN_BYTES) {
        throw new ChainError(`chain ${head} describes more than 4 GiB of buffers`);
      }
    }
    if (!(d.flags & VIRTQ_DESC_F_NEXT)) return chain;
    index = d.next;
  }
}

interface RawDescriptor {
  addr: number;
  len: number;
  flags: number;
  next: number;
}

function readDescriptor(dma: DmaSpace, at: number, head: number): RawDescriptor {
  try {
    const lo = dma.read32(at);
    const hi = dma.read32(at + 4);
    return { addr: hi * 2 ** 32 + lo, len: dma.read32(at + 8), flags: dma.read16(at + 12), next: dma.read16(at + 14) };
  } catch (e) {
    if (e instanceof DmaFault) throw new ChainError(`cannot read descriptor at 0x${at.toString(16)} of chain ${head}: ${e.reason}`);
    throw e;
  }
}

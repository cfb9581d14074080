// The ACPI tables the board gives the OS, built as bytes for a fixed physical
// address: RSDP (ACPI 1.0 form, found by the OS's scan of 0xE0000–0xFFFFF),
// RSDT, FADT (revision 3 layout, for the reset register), FACS, a DSDT of
// hand-assembled AML (\_S5 and \_SB.PCI0), and the MADT (local APIC, IOAPIC,
// ISA overrides IRQ0 → GSI 2 and SCI IRQ 9 level/active-high, LINT1 NMI),
// and with a virtio-iommu the VIOT (ACPI 6.4 §5.2.31), which is how Linux on
// x86 learns which PCI functions sit behind it. Every table carries a valid
// checksum.
import * as aml from './aml.ts';
import { SLP_TYP_S5, PM1_STS, PM1_CNT, PM_TMR, GPE0_STS, GPE0_LEN } from './pm.ts';

export interface AcpiConfig {
  /** Physical address the blob will be copied to (16-byte aligned, for the RSDP). */
  base: number;
  pmBase: number;
  sciIrq: number;
  localApicAddress: number;
  ioApicAddress: number;
  ioApicId: number;
  /** The CMOS index of the RTC century byte. */
  rtcCentury: number;
  /** Port and value of the reset register (PIIX 0xCF9, 0x06 for a hard reset). */
  resetPort: number;
  resetValue: number;
  /** A virtio-pci IOMMU and the PCI functions it translates (segment 0); adds a VIOT. */
  viot?: ViotConfig;
}

export interface ViotConfig {
  /** The IOMMU's own bus<<8 | devfn. */
  iommuBdf: number;
  /** Translated requester IDs, inclusive; endpoint ID = requester ID. The IOMMU may lie inside (the OS skips it). */
  bdfStart: number;
  bdfEnd: number;
}

const OEM_ID = 'TS86  ';
const OEM_TABLE_ID = 'TS86PC  ';

/** A growing little-endian byte image with absolute addresses. */
class Image {
  readonly bytes: number[] = [];
  constructor(readonly base: number) {}
  get here(): number {
    return this.base + this.bytes.length;
  }
  align(n: number): void {
    while (this.bytes.length % n) this.bytes.push(0);
  }
  append(b: ArrayLike<number>): number {
    const at = this.here;
    for (let i = 0; i < b.length; i++) this.bytes.push(b[i] & 0xff);
    return at;
  }
}

function le(v: number, size: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < size; k++) out.push(Math.floor(v / 2 ** (8 * k)) & 0xff);
  return out;
}

function ascii(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0));
}

function checksum(b: number[], start = 0, end = b.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += b[i];
  return (0x100 - (sum & 0xff)) & 0xff;
}

/** A table: the standard 36-byte header, `body`, length and checksum filled in. */
function table(signature: string, revision: number, body: number[]): number[] {
  const t = [
    ...ascii(signature), ...le(36 + body.length, 4), revision, 0,
    ...ascii(OEM_ID), ...ascii(OEM_TABLE_ID), ...le(1, 4), ...ascii('TS86'), ...le(1, 4),
    ...body,
  ];
  t[9] = checksum(t);
  return t;
}

/** A Generic Address Structure for a system I/O register. */
function gasIo(port: number, bitWidth: number, accessSize: number): number[] {
  return [1, bitWidth, 0, accessSize, ...le(port, 8)];
}

export function buildDsdtAml(): number[] {
  return [
    // \_S5: SLP_TYPa, SLP_TYPb and two reserved values (PIIX4 soft-off is type 0).
    ...aml.name('\\_S5', aml.pkg(aml.integer(SLP_TYP_S5), aml.integer(SLP_TYP_S5), aml.integer(0), aml.integer(0))),
    ...aml.scope('\\_SB',
      aml.device('PCI0',
        aml.name('_HID', aml.eisaId('PNP0A03')),
        aml.name('_ADR', aml.integer(0)),
        aml.name('_UID', aml.integer(0)),
        aml.name('_BBN', aml.integer(0)))),
  ];
}

function fadt(c: AcpiConfig, facs: number, dsdt: number): number[] {
  const b = new Array<number>(244 - 36).fill(0);
  const put = (offset: number, bytes: number[]): void => {
    for (let i = 0; i < bytes.length; i++) b[offset - 36 + i] = bytes[i];
  };
  put(36, le(facs, 4));
  put(40, le(dsdt, 4));
  put(46, le(c.sciIrq, 2));
  put(48, le(0, 4)); // SMI_CMD: none, ACPI is always enabled
  put(56, le(c.pmBase + PM1_STS, 4)); // PM1a_EVT_BLK
  put(64, le(c.pmBase + PM1_CNT, 4)); // PM1a_CNT_BLK
  put(76, le(c.pmBase + PM_TMR, 4)); // PM_TMR_BLK
  put(80, le(c.pmBase + GPE0_STS, 4)); // GPE0_BLK
  put(88, [4, 2, 0, 4, GPE0_LEN, 0]); // PM1_EVT_LEN, PM1_CNT_LEN, PM2_CNT_LEN, PM_TMR_LEN, GPE0_BLK_LEN, GPE1_BLK_LEN
  put(96, le(0xfff, 2)); // P_LVL2_LAT: C2 not supported
  put(98, le(0xffff, 2)); // P_LVL3_LAT: C3 not supported
  put(108, [c.rtcCentury]);
  put(109, le(0x0003, 2)); // IAPC_BOOT_ARCH: legacy devices, 8042
  // Flags: WBINVD, PROC_C1, SLP_BUTTON (no sleep button), RESET_REG_SUP.
  put(112, le((1 << 0) | (1 << 2) | (1 << 5) | (1 << 10), 4));
  put(116, gasIo(c.resetPort, 8, 1));
  put(128, [c.resetValue]);
  return table('FACP', 3, b);
}

function facs(): number[] {
  const f = new Array<number>(64).fill(0);
  f.splice(0, 8, ...ascii('FACS'), ...le(64, 4));
  f[32] = 1; // version
  return f;
}

function madt(c: AcpiConfig): number[] {
  const body = [
    ...le(c.localApicAddress, 4),
    ...le(1, 4), // PCAT_COMPAT: 8259s present
    0, 8, 0, 0, ...le(1, 4), // processor local APIC: ACPI id 0, APIC id 0, enabled
    1, 12, c.ioApicId, 0, ...le(c.ioApicAddress, 4), ...le(0, 4), // IOAPIC at GSI base 0
    2, 10, 0, 0, ...le(2, 4), ...le(0, 2), // ISA IRQ0 → GSI 2, conforming
    2, 10, 0, c.sciIrq, ...le(c.sciIrq, 4), ...le(0x000d, 2), // SCI: level triggered, active high
    4, 6, 0xff, ...le(0, 2), 1, // local APIC NMI on LINT1 for all processors
  ];
  return table('APIC', 1, body);
}

const VIOT_NODE_PCI_RANGE = 1;
const VIOT_NODE_VIRTIO_IOMMU_PCI = 3;
const VIOT_HEADER = 48;
const VIOT_IOMMU_NODE = 16;
const VIOT_PCI_RANGE_NODE = 24;

export function viot(v: ViotConfig): number[] {
  const iommuNode = VIOT_HEADER; // output_node is an offset from the start of the table
  const body = [
    ...le(2, 2), // node_count
    ...le(VIOT_HEADER, 2), // node_offset
    ...new Array<number>(8).fill(0),
    VIOT_NODE_VIRTIO_IOMMU_PCI, 0, ...le(VIOT_IOMMU_NODE, 2), ...le(0, 2), ...le(v.iommuBdf, 2), ...new Array<number>(8).fill(0),
    VIOT_NODE_PCI_RANGE, 0, ...le(VIOT_PCI_RANGE_NODE, 2),
    ...le(v.bdfStart, 4), // endpoint_start: endpoint IDs are the requester IDs
    ...le(0, 2), ...le(0, 2), // segment start, end
    ...le(v.bdfStart, 2), ...le(v.bdfEnd, 2),
    ...le(iommuNode, 2),
    ...new Array<number>(6).fill(0),
  ];
  return table('VIOT', 0, body);
}

export interface AcpiTables {
  bytes: Uint8Array;
  rsdp: number;
  rsdt: number;
  fadt: number;
  facs: number;
  dsdt: number;
  madt: number;
  /** 0 without an IOMMU. */
  viot: number;
}

export function buildAcpiTables(c: AcpiConfig): AcpiTables {
  const img = new Image(c.base);
  // RSDP first so it sits on the 16-byte boundary the OS scans; its RSDT address is patched below.
  const rsdpAt = img.append(new Array(20).fill(0));
  img.align(64);
  const facsAt = img.append(facs());
  const dsdtAt = img.append(table('DSDT', 1, buildDsdtAml()));
  img.align(4);
  const fadtAt = img.append(fadt(c, facsAt, dsdtAt));
  img.align(4);
  const madtAt = img.append(madt(c));
  img.align(4);
  const entries = [fadtAt, madtAt];
  let viotAt = 0;
  if (c.viot) {
    viotAt = img.append(viot(c.viot));
    img.align(4);
    entries.push(viotAt);
  }
  const rsdtAt = img.append(table('RSDT', 1, entries.flatMap((a) => le(a, 4))));
  const rsdp = [...ascii('RSD PTR '), 0, ...ascii(OEM_ID), 0, ...le(rsdtAt, 4)];
  rsdp[8] = checksum(rsdp);
  for (let i = 0; i < 20; i++) img.bytes[rsdpAt - c.base + i] = rsdp[i];
  return { bytes: Uint8Array.from(img.bytes), rsdp: rsdpAt, rsdt: rsdtAt, fadt: fadtAt, facs: facsAt, dsdt: dsdtAt, madt: madtAt, viot: viotAt };
}

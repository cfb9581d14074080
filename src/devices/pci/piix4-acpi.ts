// PIIX4 power-management function 00:01.3 (8086:7113), as QEMU's "pc"
// machine has it next to the PIIX3: it decodes the ACPI register block
// (acpi/pm.ts) at PMBA (config 0x40) while PMIOSE (config 0x80 bit 0) is set.
// The SMBus base (0x90) and enable (0xD2) are kept for software that reads
// them, with no SMBus controller behind. Linux's PIIX4 quirk reserves both
// ranges from these registers.
import type { Bus } from '../bus.ts';
import { PciDevice } from './pci-device.ts';
import { PM_BLOCK_SIZE, type AcpiPm } from '../acpi/pm.ts';

const PMBA = 0x40, PMREGMISC = 0x80, SMBBA = 0x90, SMBHSTCFG = 0xd2;

export class Piix4Acpi extends PciDevice {
  constructor(private readonly bus: Bus, readonly pm: AcpiPm) {
    super('piix4-acpi', { vendorId: 0x8086, deviceId: 0x7113, classCode: 0x068000, revision: 0x03, interruptPin: 1 });
    this.writeMask.fill(0, 0x40, 0x100);
    // PMBA: a 64-byte I/O block (bits 15:6), bit 0 reads 1 (I/O space).
    this.set32(PMBA, 1);
    this.writeMask[PMBA] = 0xc0;
    this.writeMask[PMBA + 1] = 0xff;
    this.writeMask[PMREGMISC] = 0x01;
    this.set32(SMBBA, 1);
    this.writeMask[SMBBA] = 0xf0;
    this.writeMask[SMBBA + 1] = 0xff;
    this.writeMask[SMBHSTCFG] = 0x0f;
  }

  /** The PM block's base while decoded, or -1. */
  get pmBase(): number {
    if (!(this.config[PMREGMISC] & 1)) return -1;
    const base = this.get32(PMBA) & 0xffc0;
    return base !== 0 && base + PM_BLOCK_SIZE <= 0x10000 ? base : -1;
  }

  protected override configWritten(off: number, size: number): void {
    if ((off < PMBA + 4 && off + size > PMBA) || (off <= PMREGMISC && off + size > PMREGMISC)) {
      this.pm.map(this.bus, this.pmBase);
    }
  }

  override reset(): void {
    super.reset();
    this.pm.map(this.bus, this.pmBase);
    this.pm.reset();
  }

  /** Firmware: places the PM block at `base` and enables it (SeaBIOS uses 0x600), SCI on `sciIrq`. */
  enablePm(base: number, sciIrq: number): void {
    this.set32(PMBA, (base & 0xffc0) | 1);
    this.config[PMREGMISC] |= 1;
    this.config[0x3c] = sciIrq;
    this.pm.map(this.bus, this.pmBase);
  }
}

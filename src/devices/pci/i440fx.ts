// Intel 82441FX (i440FX) PCI and memory controller, host bridge 00:00.0
// (8086:1237), as QEMU's "pc" machine has it. Its PAM and SMRAM registers
// are kept so firmware and OS reads see what they wrote; RAM here is never
// shadowed or hidden, so they have no further effect.
import { PciDevice } from './pci-device.ts';

export class I440fx extends PciDevice {
  constructor() {
    super('i440fx', { vendorId: 0x8086, deviceId: 0x1237, classCode: 0x060000, revision: 0x02 });
    this.config[0x72] = 0x02; // SMRAM: compatible SMRAM range, closed
  }
}

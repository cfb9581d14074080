// Virtio PCI capability structures and register layouts (virtio 1.2 §4.1.4).
//
//   struct virtio_pci_cap {            struct virtio_pci_notify_cap {
//     u8 cap_vndr;   // 0x09             struct virtio_pci_cap cap;
//     u8 cap_next;                       le32 notify_off_multiplier;
//     u8 cap_len;                      };
//     u8 cfg_type;   // VIRTIO_PCI_CAP_*
//     u8 bar;                          struct virtio_pci_cfg_cap {
//     u8 id;                             struct virtio_pci_cap cap;
//     u8 padding[2];                     u8 pci_cfg_data[4];
//     le32 offset;   // within the BAR }; 
//     le32 length;
//   };
import type { PciDevice } from '../pci/pci-device.ts';

export const PCI_VENDOR_ID_VIRTIO = 0x1af4;
/** Modern (non-transitional) device IDs are this plus the virtio device type. */
export const PCI_DEVICE_ID_VIRTIO_MODERN_BASE = 0x1040;
/** QEMU's subsystem ID for its virtio functions; drivers of modern devices ignore it. */
export const PCI_SUBSYSTEM_ID_VIRTIO = 0x1100;
export const PCI_CAP_ID_VENDOR = 0x09;

export const VIRTIO_PCI_CAP_COMMON_CFG = 1;
export const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
export const VIRTIO_PCI_CAP_ISR_CFG = 3;
export const VIRTIO_PCI_CAP_DEVICE_CFG = 4;
export const VIRTIO_PCI_CAP_PCI_CFG = 5;

/** Field offsets within struct virtio_pci_cap. */
export const CapOffset = { cfgType: 3, bar: 4, id: 5, offset: 8, length: 12, notifyOffMultiplier: 16, pciCfgData: 16 } as const;
export const VIRTIO_PCI_CAP_LEN = 16;
export const VIRTIO_PCI_NOTIFY_CAP_LEN = 20;
export const VIRTIO_PCI_CFG_CAP_LEN = 20;

/** struct virtio_pci_common_cfg (with the 1.2 queue_notify_data and queue_reset fields). */
export const Common = {
  deviceFeatureSelect: 0x00,
  deviceFeature: 0x04,
  driverFeatureSelect: 0x08,
  driverFeature: 0x0c,
  msixConfig: 0x10,
  numQueues: 0x12,
  deviceStatus: 0x14,
  configGeneration: 0x15,
  queueSelect: 0x16,
  queueSize: 0x18,
  queueMsixVector: 0x1a,
  queueEnable: 0x1c,
  queueNotifyOff: 0x1e,
  queueDescLo: 0x20,
  queueDescHi: 0x24,
  queueDriverLo: 0x28,
  queueDriverHi: 0x2c,
  queueDeviceLo: 0x30,
  queueDeviceHi: 0x34,
  queueNotifyData: 0x38,
  queueReset: 0x3a,
} as const;
export const COMMON_CFG_LEN = 0x3c;

/** Width of each common-config access the driver may make (§4.1.3.1: natural width; 64-bit fields as two dwords). */
export const COMMON_FIELD_WIDTH: ReadonlyMap<number, 1 | 2 | 4> = new Map<number, 1 | 2 | 4>([
  [Common.deviceFeatureSelect, 4],
  [Common.deviceFeature, 4],
  [Common.driverFeatureSelect, 4],
  [Common.driverFeature, 4],
  [Common.msixConfig, 2],
  [Common.numQueues, 2],
  [Common.deviceStatus, 1],
  [Common.configGeneration, 1],
  [Common.queueSelect, 2],
  [Common.queueSize, 2],
  [Common.queueMsixVector, 2],
  [Common.queueEnable, 2],
  [Common.queueNotifyOff, 2],
  [Common.queueDescLo, 4],
  [Common.queueDescHi, 4],
  [Common.queueDriverLo, 4],
  [Common.queueDriverHi, 4],
  [Common.queueDeviceLo, 4],
  [Common.queueDeviceHi, 4],
  [Common.queueNotifyData, 2],
  [Common.queueReset, 2],
]);

/** ISR status bits (§4.1.4.5). */
export const ISR_QUEUE = 1;
export const ISR_CONFIG = 2;

/** msix_config / queue_msix_vector value meaning "no vector" (§4.1.5.1.2). */
export const VIRTIO_MSI_NO_VECTOR = 0xffff;

/** Appends a virtio vendor capability; returns its config-space offset. */
export function addVirtioCap(
  dev: PciDevice,
  cfgType: number,
  bar: number,
  offset: number,
  length: number,
  capLen: number = VIRTIO_PCI_CAP_LEN,
): number {
  const at = dev.addCapability(PCI_CAP_ID_VENDOR, capLen);
  dev.config[at + 2] = capLen;
  dev.config[at + CapOffset.cfgType] = cfgType;
  dev.config[at + CapOffset.bar] = bar;
  dev.config[at + CapOffset.id] = 0;
  dev.set32(at + CapOffset.offset, offset);
  dev.set32(at + CapOffset.length, length);
  return at;
}

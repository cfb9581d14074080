// What the default guest is made of. Everything a consumer of the images needs
// at run time (cmdline, prompt, ready line) is also written to manifest.json,
// so emulators and test harnesses read it from there rather than from here.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Build outputs (git-ignored). */
export const IMAGES_DIR = join(REPO_ROOT, 'public', 'images');
/** Downloaded .deb files and their extracted trees (git-ignored). */
export const CACHE_DIR = join(REPO_ROOT, '.cache', 'images');

/** Debian architecture of every guest package. */
export const GUEST_ARCH = 'i386';
/** Metapackage for the non-PAE 686 kernel flavour; it depends on the current versioned linux-image-6.x-686. */
export const KERNEL_METAPACKAGE = 'linux-image-686';
export const BUSYBOX_PACKAGE = 'busybox-static';

/**
 * Kernel modules to ship, by module name; their dependency closure is added.
 * These are what the emulator's virtio devices and ext4 disks need.
 */
export const GUEST_MODULES = [
  'virtio',
  'virtio_ring',
  'virtio_pci',
  'virtio_pci_modern_dev',
  'virtio_pci_legacy_dev',
  'virtio_blk',
  'virtio_net',
  'virtio_console',
  'virtio_iommu',
  'ext4',
  // ext4 and jbd2 checksum metadata with crc32c and ask for it as a soft
  // dependency ("crypto-crc32c"); the generic C version works on every CPU,
  // unlike crc32c-intel, which needs SSE4.2.
  'crc32c_generic',
  'libcrc32c',
];
/**
 * Modules that some kernel builds have built in or leave out entirely: the
 * virtio PCI transport helpers are separate modules only since 5.x,
 * virtio_iommu is not configured for i386, and newer kernels fold crc32c and
 * libcrc32c into lib/crc32. The manifest lists the ones a build lacked.
 */
export const OPTIONAL_MODULES = new Set(['virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_iommu', 'crc32c_generic', 'libcrc32c']);

/**
 * Kernel command line. console=ttyS0 puts the kernel log and /dev/console on
 * COM1, where the initramfs also starts its shell. nokaslr keeps the kernel at
 * its link address, so addresses in traces and crash dumps compare across runs
 * and between emulators.
 */
export const DEFAULT_CMDLINE = 'console=ttyS0 nokaslr';
/** The interactive shell's prompt, fixed so transcripts are stable. */
export const PROMPT = '~ # ';
/** Printed by /init right before the shell starts; harnesses wait for it. */
export const READY_LINE = 'ts86-initramfs: ready';

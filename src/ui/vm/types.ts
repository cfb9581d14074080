// The public types of the embedding API (re-exported by src/index.ts).
import type { DiskActivity, ScannerCounters } from '../../machine/worker/protocol.ts';

export type { DiskActivity, ScannerCounters };

/** Where a boot image comes from: a URL (absolute or relative to the page), or bytes the page already has (a File from a picker). */
export type ImageSource = string | URL | Blob | ArrayBuffer | ArrayBufferView;

export interface VMOptions {
  /** Linux kernel (bzImage). Without kernel and multiboot, the bundled guest (images/bzImage + images/initrd.img) boots. */
  kernel?: ImageSource;
  /** Initial ramdisk for the Linux kernel. */
  initrd?: ImageSource;
  /** A multiboot (v1) ELF kernel to run instead of Linux. */
  multiboot?: ImageSource;
  /** Kernel command line. Default: the bundled guest's (`console=ttyS0 nokaslr`), or `console=ttyS0` for other kernels. */
  append?: string;
  /** Guest RAM in MiB (16–2048). Default 128. */
  memoryMiB?: number;
  /** Boot as soon as the VM is created. Default true. */
  autostart?: boolean;
  /**
   * When the `booted` event fires: the first serial output that matches. A
   * string matches literally. Default: the bundled guest's shell prompt
   * (`~ # `); for other Linux kernels a shell prompt (`# ` or `$ ` at the end
   * of the output); never for multiboot kernels unless given.
   */
  bootedPattern?: RegExp | string;
  /** Element to show the serial console (xterm.js) in; none = headless (use write/onData). */
  console?: HTMLElement;
  /** Element to show the VGA text screen in. */
  screen?: HTMLElement;
  /** Where the bundled guest images and the VGA font are served. Default: the app's base URL. */
  assetBase?: string | URL;
  /** 'wall' (default) or 'deterministic' guest time (repeatable runs, benchmarks). */
  clock?: 'wall' | 'deterministic';
  /** A virtio-blk disk for the guest (Linux sees it as /dev/vda). */
  disk?: DiskOptions;
  /**
   * ClamAV signature files for the code scanner, .ndb (hex body signatures)
   * or .hdb (MD5 of a 4096-byte page), told apart by file name: URLs
   * (relative to the page) or Files. With any, every guest code page is
   * scanned the first time it runs after being written; matches fire `detection`.
   */
  signatures?: ImageSource[];
}

/**
 * The guest's disk:
 *   url:   a raw image (absolute or relative to the page) read lazily with HTTP
 *          Range requests; the guest's writes go to a copy-on-write overlay in
 *          this browser's IndexedDB keyed by the URL, so reopening the page
 *          resumes the same disk;
 *   blank: an empty disk of `sizeGiB` GiB, stored sparsely in IndexedDB under
 *          `name` (default "default"), kept across page loads;
 *   file:  a raw image picked from this computer, read piece by piece and never
 *          modified; the guest's writes go to a copy-on-write overlay in this
 *          browser (OPFS, else IndexedDB) keyed by the file's name, size and
 *          date, so picking the same file again resumes them.
 * Images must be a whole number of 512-byte sectors.
 */
export type DiskOptions =
  | { kind: 'url'; url: string | URL }
  | { kind: 'blank'; sizeGiB: number; name?: string }
  | { kind: 'file'; file: Blob; name?: string };

/**
 * idle: created, not started; loading: downloading images and building the
 * machine; running; paused; stopped: the guest powered off or exited, or
 * stop() was called; error: the last start failed or the emulator crashed.
 */
export type VMState = 'idle' | 'loading' | 'running' | 'paused' | 'stopped' | 'error' | 'destroyed';

export type VMErrorKind =
  /** The page is not cross-origin isolated, so guest memory cannot be shared. */
  | 'isolation'
  /** A boot image or disk image could not be fetched (HTTP error, network, CORS, no Range support). */
  | 'download'
  /** A boot image was refused (not a bzImage / multiboot kernel, does not fit). */
  | 'image'
  /** An option cannot work (memory size, a disk that cannot be opened or stored: bad size, storage quota). */
  | 'config'
  /** A disk's storage failed under the running guest (quota, network, image gone): the VM paused; resuming retries. */
  | 'disk'
  /** The emulator hit an internal error while running the guest. */
  | 'crash'
  /** The machine worker could not start. */
  | 'worker';

export interface VMError {
  kind: VMErrorKind;
  /** One or two sentences a person can act on. */
  message: string;
  /** More for the curious: a CPU dump for crashes, the URL for downloads. */
  detail?: string;
}

export interface DownloadProgress {
  /** Which image: 'kernel', 'initrd', 'multiboot', 'manifest'. */
  what: string;
  /** The URL or file name. */
  source: string;
  loaded: number;
  /** null when the server did not say (no Content-Length). */
  total: number | null;
  done: boolean;
}

export type PoweredOff =
  | { reason: 'poweroff' }
  /** isa-debug-exit (port 0xf4): status = (value << 1) | 1, as QEMU's exit status. */
  | { reason: 'exit'; status: number };

export interface VMEventMap {
  state: { state: VMState };
  progress: DownloadProgress;
  /** The boot finished by the `bootedPattern` definition; once per boot (a reset re-arms it). */
  booted: { seconds: number; match: string };
  'powered-off': PoweredOff;
  reset: { reason: string };
  error: VMError;
  /** Information that is not an error (e.g. the keyboard is not available in this build). */
  notice: { message: string };
  /** The code scanner matched a signature in a guest code page about to run for the first time since it was written. */
  detection: Detection;
}

export interface VMStats {
  state: VMState;
  /** Guest time since power-on, s. */
  uptimeSeconds: number;
  instructions: number;
  /** Millions of instructions per second of execution since the previous stats() call (the run's average on the first call). */
  mips: number;
  /** Over the whole run. */
  averageMips: number;
  /** The guest is idle in HLT. */
  halted: boolean;
  serialTxBytes: number;
  serialRxBytes: number;
  memoryMiB: number;
  /** The disk's activity (bytes moved, a URL image's fetched bytes, cache hit rate, unflushed bytes); null without a disk. */
  disk: DiskActivity | null;
  /** The code scanner's counters (pages scanned, detections, time spent); null without signatures. */
  scanner: ScannerCounters | null;
}

/** A code scanner match. */
export interface Detection {
  /** The signature's name. */
  name: string;
  /** Guest physical address of the match (a hash signature: the page's base). */
  phys: number;
  kind: 'body' | 'hash';
  /** Guest instructions executed before the page was about to run (as of the current time slice). */
  instructions: number;
  /** 1 for the machine's first detection, then 2, ... */
  index: number;
}

export interface VMHandle {
  readonly state: VMState;
  /** The options of the current (or next) boot. */
  readonly options: Readonly<VMOptions>;
  /** Guest RAM shared with the machine (no copy; guest physical address 0 at index 0); null before the first boot. */
  readonly ram: Uint8Array | null;
  /** Boots with the current options (or resumes a paused VM). Rejects with a VMErrorException; the `error` event fires too. */
  start(): Promise<void>;
  /** Boots again now with these options merged into the current ones (new images, memory size, command line). */
  boot(options?: Partial<VMOptions>): Promise<void>;
  /** Sends bytes to the guest's COM1 (a string is sent as UTF-8). */
  write(data: string | Uint8Array): void;
  /** Calls `listener` with every chunk the guest writes to COM1; returns an unsubscribe function. */
  onData(listener: (bytes: Uint8Array) => void): () => void;
  on<K extends keyof VMEventMap>(type: K, listener: (detail: VMEventMap[K]) => void): () => void;
  off<K extends keyof VMEventMap>(type: K, listener: (detail: VMEventMap[K]) => void): void;
  /** Resolves when serial output (from now on, or already in the last 64 KiB) matches; rejects after timeoutMs. */
  waitForOutput(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Presses keys on the PS/2 keyboard: scancode set 2 bytes as a keyboard sends them. */
  sendScancodes(bytes: ArrayLike<number>): void;
  stats(): Promise<VMStats>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Hardware reset (the reset button). */
  reset(): Promise<void>;
  /** Powers the machine off (the worker stays ready for the next start). */
  stop(): Promise<void>;
  /**
   * The disk (default: the `disk` option) as a raw image, as the guest sees
   * it: the image with the changes kept in this browser. The machine using
   * the disk must be paused or stopped. Rejects with a VMErrorException.
   */
  exportDisk(disk?: DiskOptions): Promise<Blob>;
  /**
   * Deletes the changes this browser keeps for the disk (default: the `disk`
   * option), even damaged ones; a blank disk is deleted. A paused or stopped
   * machine using the disk is turned off first; while it runs this rejects
   * (with a VMErrorException).
   */
  discardDiskChanges(disk?: DiskOptions): Promise<void>;
  /** Ends the worker and removes the console and screen. The handle cannot be used afterwards. */
  destroy(): void;
}

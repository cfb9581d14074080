// The ts86 relay wire protocol: message types, limits, error codes and the
// validator for everything a client may send. Documented for humans in
// relay/README.md; this file is the source of truth.
//
// This module has no Node or DOM imports on purpose: the browser client
// (src/ui/kvm/relay-client.ts) imports the same types and constants, so the
// two ends cannot drift apart.
//
// Framing: text frames carry one JSON control message each; binary frames
// carry raw serial console bytes (client → relay: keyboard input to the
// guest's COM1; relay → client: COM1 output).

/** Protocol versions this build speaks, newest last. */
export const PROTOCOL_VERSIONS: readonly number[] = [1];

export const LIMITS = {
  /** Text frames above this get a `too-large` error reply; the connection stays up. */
  maxControlBytes: 16 * 1024,
  /** Binary frames above this get a `too-large` error reply; the connection stays up. */
  maxConsoleChunk: 64 * 1024,
  /**
   * Hard limit enforced by the WebSocket layer (ws `maxPayload`): a frame
   * above it cannot be buffered safely, so the relay closes that connection
   * with code 1009. Everything between the soft limits and this one is
   * answered with an error instead.
   */
  maxPayload: 1024 * 1024,
  /** Longest accepted kernel command line (Linux x86 COMMAND_LINE_SIZE). */
  maxAppend: 2048,
  maxPathLength: 1024,
  maxIdLength: 64,
  maxTokenLength: 256,
  minMemoryMiB: 16,
  /** Seconds a new connection has to send `hello` before it is closed. */
  helloTimeoutSeconds: 10,
} as const;

/** WebSocket close codes the relay uses (4000-4999 is the application range). */
export const CLOSE_CODES = {
  badToken: 4001,
  versionMismatch: 4002,
  helloTimeout: 4003,
  relayShutdown: 1001,
  /** Set by the ws library when a frame exceeds LIMITS.maxPayload. */
  messageTooBig: 1009,
} as const;

export const ERROR_CODES = [
  'bad-json', // text frame is not JSON
  'bad-message', // JSON, but not a valid message (wrong field, type or value)
  'unknown-type', // `type` is not a known request
  'too-large', // frame over the soft limit; it was dropped
  'rate-limited', // too many frames or bytes; the excess was dropped
  'not-authenticated', // anything but `hello` before a successful hello
  'hello-timeout', // no hello in time (fatal)
  'bad-token', // wrong token (fatal)
  'version-mismatch', // no common protocol version (fatal)
  'already-authenticated', // a second hello
  'bad-path', // absolute, `..`, or resolves (e.g. through a symlink) outside the images directory
  'not-found', // no such regular file in the images directory
  'not-allowed', // valid, but the operator did not allow it (memory cap, network, arch not installed)
  'bad-state', // e.g. pause with no VM, start while one runs, console bytes with no VM
  'qemu-failed', // QEMU could not be started (its stderr is in the message)
  'qmp-error', // QEMU refused a QMP command
  'guest-internal-error', // the accelerator stopped the guest (e.g. "KVM internal error")
  'internal', // a relay bug; the message says what
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type Arch = 'i386' | 'x86_64';
export const ARCHES: readonly Arch[] = ['i386', 'x86_64'];
export type Accel = 'kvm' | 'tcg';
export type Network = 'none' | 'user';
export type DiskInterface = 'virtio' | 'ide';
export type RequestId = string | number;

// ---------------------------------------------------------------- client → relay

export interface HelloRequest {
  type: 'hello';
  /** Protocol versions the client speaks; the relay picks the highest common one. */
  versions: number[];
  /** The token the relay printed at start. Required: the relay authenticates here, not in the URL. */
  token: string;
  /** Free text for the relay's log, e.g. "ts86 web page". */
  client?: string;
}

export interface StartRequest {
  type: 'start';
  id?: RequestId;
  /** Paths relative to the relay's images directory. */
  kernel: string;
  initrd?: string;
  append?: string;
  /** Default 256. */
  memoryMiB?: number;
  /** Raw disk image (relative path). Guest writes go to a throw-away overlay unless the relay allows writable disks. */
  disk?: string;
  /** Default 'virtio'. */
  diskInterface?: DiskInterface;
  /** Default 'i386'. */
  arch?: Arch;
  /** Pass -no-reboot: a guest reboot (and `reset`) then ends the VM. Default false. */
  noReboot?: boolean;
  /** Default 'none' (-nic none). 'user' needs the relay's --allow-network. */
  network?: Network;
}

/** Requests that act on the running VM and carry no arguments. */
export const VM_COMMANDS = ['pause', 'resume', 'reset', 'powerdown', 'quit', 'status'] as const;
export type VmCommand = (typeof VM_COMMANDS)[number];

export interface VmCommandRequest {
  type: VmCommand;
  id?: RequestId;
}

export type ClientRequest = HelloRequest | StartRequest | VmCommandRequest;
export type RequestType = ClientRequest['type'];

// ---------------------------------------------------------------- relay → client

export type VmState = 'none' | 'starting' | 'running' | 'paused' | 'exited';

export interface VmStatus {
  state: VmState;
  accel?: Accel;
  arch?: Arch;
  memoryMiB?: number;
  /** QEMU's own run state from query-status (e.g. 'running', 'paused', 'internal-error'), when known. */
  qemuStatus?: string;
}

export interface HelloReply {
  type: 'hello';
  version: number;
  server: string;
  /** Accelerator VMs will use. */
  accel: Accel;
  /** Set when the relay fell back from KVM, with the reason, for the user to see. */
  accelNotice?: string;
  /** Architectures whose QEMU binary is installed. */
  arches: Arch[];
  limits: {
    maxControlBytes: number;
    maxConsoleChunk: number;
    maxPayload: number;
    maxMemoryMiB: number;
  };
  status: VmStatus;
}

/** Successful reply to a request; `status` is the VM status after it. */
export interface OkReply {
  type: 'ok';
  id?: RequestId;
  request: Exclude<RequestType, 'hello'>;
  status: VmStatus;
}

export interface ErrorReply {
  type: 'error';
  /** The id of the request this answers, when there was one. */
  id?: RequestId;
  code: ErrorCode;
  /** For people: what went wrong and what to do. */
  message: string;
  /** True when the relay closes the connection right after this message. */
  fatal?: boolean;
}

export type ExitReason =
  | 'guest-shutdown' // the guest powered off (or rebooted with -no-reboot)
  | 'quit' // a `quit` request
  | 'crashed' // QEMU died on a signal or exited non-zero on its own
  | 'exited'; // QEMU exited with status 0 for another reason

export type RelayEvent =
  | { type: 'event'; event: 'started'; status: VmStatus; message: string }
  | { type: 'event'; event: 'paused'; status: VmStatus; message: string }
  | { type: 'event'; event: 'resumed'; status: VmStatus; message: string }
  | { type: 'event'; event: 'reset'; status: VmStatus; message: string; guest: boolean }
  /** The ACPI power button was pressed; whether the guest acts on it is up to the guest. */
  | { type: 'event'; event: 'powerdown'; status: VmStatus; message: string }
  | {
      type: 'event';
      event: 'exited';
      status: VmStatus;
      message: string;
      reason: ExitReason;
      exitCode: number | null;
      signal: string | null;
    }
  | { type: 'event'; event: 'error'; status: VmStatus; message: string; code: ErrorCode };
export type EventName = RelayEvent['event'];

export type ServerMessage = HelloReply | OkReply | ErrorReply | RelayEvent;

// ---------------------------------------------------------------- validation

export type ParseResult =
  | { ok: true; message: ClientRequest }
  | { ok: false; code: ErrorCode; message: string; id?: RequestId };

const START_FIELDS = new Set([
  'type', 'id', 'kernel', 'initrd', 'append', 'memoryMiB', 'disk', 'diskInterface', 'arch', 'noReboot', 'network',
]);
const HELLO_FIELDS = new Set(['type', 'versions', 'token', 'client']);
const COMMAND_FIELDS = new Set(['type', 'id']);

class Invalid extends Error {}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalString(obj: Record<string, unknown>, key: string, max: number, what: string): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new Invalid(`${key} must be a string (${what})`);
  if (v.length > max) throw new Invalid(`${key} is longer than ${max} characters`);
  return v;
}

function pathField(obj: Record<string, unknown>, key: string, required: boolean): string | undefined {
  const v = optionalString(obj, key, LIMITS.maxPathLength, 'a path relative to the images directory');
  if (v === undefined) {
    if (required) throw new Invalid(`${key} is required`);
    return undefined;
  }
  if (v.length === 0) throw new Invalid(`${key} must not be empty`);
  if (v.includes('\0')) throw new Invalid(`${key} contains a NUL character`);
  return v;
}

function oneOf<T extends string>(obj: Record<string, unknown>, key: string, allowed: readonly T[]): T | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new Invalid(`${key} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  }
  return v as T;
}

function rejectUnknownFields(obj: Record<string, unknown>, allowed: Set<string>): void {
  for (const key of Object.keys(obj)) {
    // Unknown fields are refused rather than ignored so that a typo such as
    // "memoryMb" is reported instead of silently booting with the default.
    if (!allowed.has(key)) throw new Invalid(`unknown field ${JSON.stringify(key)} for ${String(obj.type)}`);
  }
}

function requestId(obj: Record<string, unknown>): RequestId | undefined {
  const id = obj.id;
  if (id === undefined) return undefined;
  if (typeof id === 'string' && id.length <= LIMITS.maxIdLength) return id;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return id;
  return undefined;
}

function parseHello(obj: Record<string, unknown>): HelloRequest {
  rejectUnknownFields(obj, HELLO_FIELDS);
  const { versions } = obj;
  if (!Array.isArray(versions) || versions.length === 0 || versions.length > 16) {
    throw new Invalid('versions must be a non-empty array of protocol version numbers');
  }
  for (const v of versions) {
    if (!Number.isSafeInteger(v) || (v as number) < 1) throw new Invalid('versions must contain positive integers');
  }
  const token = optionalString(obj, 'token', LIMITS.maxTokenLength, 'the token the relay printed');
  if (token === undefined) throw new Invalid('token is required: the relay prints it when it starts');
  const client = optionalString(obj, 'client', 200, 'free text');
  return { type: 'hello', versions: versions as number[], token, ...(client !== undefined && { client }) };
}

function parseStart(obj: Record<string, unknown>, id: RequestId | undefined): StartRequest {
  rejectUnknownFields(obj, START_FIELDS);
  const msg: StartRequest = { type: 'start', kernel: pathField(obj, 'kernel', true)! };
  if (id !== undefined) msg.id = id;
  const initrd = pathField(obj, 'initrd', false);
  if (initrd !== undefined) msg.initrd = initrd;
  const disk = pathField(obj, 'disk', false);
  if (disk !== undefined) msg.disk = disk;
  const append = optionalString(obj, 'append', LIMITS.maxAppend, 'the kernel command line');
  if (append !== undefined) {
    // Control characters have no business on a command line and would only
    // serve to garble logs; QEMU gets the string as one argv element, so
    // there is no shell quoting to worry about.
    if (/[\u0000-\u001f\u007f]/.test(append)) throw new Invalid('append must not contain control characters');
    msg.append = append;
  }
  if (obj.memoryMiB !== undefined) {
    const m = obj.memoryMiB;
    if (!Number.isSafeInteger(m) || (m as number) < LIMITS.minMemoryMiB) {
      throw new Invalid(`memoryMiB must be an integer of at least ${LIMITS.minMemoryMiB}`);
    }
    msg.memoryMiB = m as number;
  }
  const arch = oneOf(obj, 'arch', ARCHES);
  if (arch !== undefined) msg.arch = arch;
  const diskInterface = oneOf<DiskInterface>(obj, 'diskInterface', ['virtio', 'ide']);
  if (diskInterface !== undefined) msg.diskInterface = diskInterface;
  const network = oneOf<Network>(obj, 'network', ['none', 'user']);
  if (network !== undefined) msg.network = network;
  if (obj.noReboot !== undefined) {
    if (typeof obj.noReboot !== 'boolean') throw new Invalid('noReboot must be true or false');
    msg.noReboot = obj.noReboot;
  }
  return msg;
}

/** Validates one text frame from a client. Never throws. */
export function parseClientMessage(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, code: 'bad-json', message: `not valid JSON: ${(e as Error).message}` };
  }
  if (!isObject(value)) return { ok: false, code: 'bad-message', message: 'a control message must be a JSON object' };
  const id = requestId(value);
  if (value.id !== undefined && id === undefined) {
    return { ok: false, code: 'bad-message', message: `id must be a string of at most ${LIMITS.maxIdLength} characters or a safe integer` };
  }
  const type = value.type;
  if (typeof type !== 'string') return { ok: false, code: 'bad-message', message: 'missing string field "type"', id };
  try {
    if (type === 'hello') return { ok: true, message: parseHello(value) };
    if (type === 'start') return { ok: true, message: parseStart(value, id) };
    if ((VM_COMMANDS as readonly string[]).includes(type)) {
      rejectUnknownFields(value, COMMAND_FIELDS);
      return { ok: true, message: { type: type as VmCommand, ...(id !== undefined && { id }) } };
    }
    return {
      ok: false,
      code: 'unknown-type',
      message: `unknown message type ${JSON.stringify(type.slice(0, 40))}; known: hello, start, ${VM_COMMANDS.join(', ')}`,
      id,
    };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, code: 'bad-message', message: e.message, id };
    throw e;
  }
}

/** Highest version both sides speak, or null. */
export function negotiateVersion(clientVersions: readonly number[], ours: readonly number[] = PROTOCOL_VERSIONS): number | null {
  let best: number | null = null;
  for (const v of clientVersions) if (ours.includes(v) && (best === null || v > best)) best = v;
  return best;
}

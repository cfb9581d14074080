// Every way KVM mode can fail, as a VMError for the page's message view:
// one or two sentences saying what happened and what to do. The relay's
// own messages are already written for people; these add the page's side
// (which URL, which origin, what to click).
//
// The error kinds are the in-browser machine's (VMErrorKind), so the same
// views show them: relay connection problems are 'worker' (KVM mode's
// machine host could not be reached), refused images 'image', options the
// relay or QEMU refuse 'config', QEMU dying 'crash'. Every message starts
// with "KVM mode:" so it is clear which backend speaks.
import type { VMError } from '../vm/types.ts';
import type { CloseInfo, RelayEvent } from './relay-client.ts';
import { CLOSE_CODES, RelayClientError } from './relay-client.ts';

export interface RelayContext {
  url: string;
  /** The page's origin, for the --allow-origin hint; null outside a browser. */
  origin: string | null;
}

type ExitedEvent = Extract<RelayEvent, { event: 'exited' }>;

const code = (e: unknown): string => (e instanceof RelayClientError ? e.code : '');
const text = (e: unknown): string => (e instanceof Error ? e.message : String(e));
/** Relay messages are sentences without a final period; keep ours consistent. */
const sentence = (s: string): string => (/[.!?]$/.test(s) ? s : `${s}.`);

/** The relay settings themselves are unusable (nothing was sent anywhere). */
export function settingsError(url: string, token: string): VMError | null {
  const how = 'Start the relay on this computer with "npx ts86-relay" and open the link it prints, or copy its address and token into "KVM mode relay".';
  if (url === '') return { kind: 'config', message: `KVM mode needs the address of a relay (e.g. ws://127.0.0.1:8086/). ${how}` };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { kind: 'config', message: `KVM mode: "${url}" is not a relay address; it looks like ws://127.0.0.1:8086/. ${how}` };
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    return { kind: 'config', message: `KVM mode: the relay address must start with ws:// (or wss://), not ${parsed.protocol}//. ${how}` };
  }
  if (token === '') return { kind: 'config', message: `KVM mode needs the relay's token, which it prints when it starts. ${how}` };
  return null;
}

/** RelayClient.connect failed. */
export function connectError(e: unknown, ctx: RelayContext): VMError {
  const { url, origin } = ctx;
  switch (code(e)) {
    case 'relay-unreachable': {
      // A refused origin fails the WebSocket handshake with HTTP 403, which
      // browsers report exactly like a closed port: say both.
      const originHint = origin
        ? ` or it runs but does not allow this page's origin, ${origin}: start it with "--allow-origin ${origin}"`
        : ' or it refused the connection';
      return {
        kind: 'worker',
        message: `KVM mode: could not connect to the relay at ${url}. Either no relay is running there (start one with "npx ts86-relay"),${originHint}. The browser does not say which.`,
      };
    }
    case 'bad-token':
      return {
        kind: 'worker',
        message: `KVM mode: the relay at ${url} refused the token. Copy the token the relay printed when it started (it changes every time the relay starts), or open the link it printed.`,
      };
    case 'version-mismatch':
      return { kind: 'worker', message: `KVM mode: this page and the relay at ${url} speak different protocol versions (${text(e)}); use a relay from the same ts86 version as the page.` };
    case 'timeout':
      return { kind: 'worker', message: `KVM mode: the relay at ${url} accepted the connection but did not answer in time. Is it a ts86 relay? Restart it and try again.` };
    default:
      return { kind: 'worker', message: `KVM mode: could not connect to the relay at ${url}: ${sentence(text(e))}` };
  }
}

/** A request (start, pause, ...) failed; the relay's message says why. */
export function requestError(request: string, e: unknown, ctx: RelayContext): VMError {
  const msg = sentence(text(e));
  switch (code(e)) {
    case 'bad-path':
    case 'not-found':
      return {
        kind: 'image',
        message: `KVM mode: ${msg} In KVM mode, kernel=, initrd= and multiboot= name files in the relay's images directory (relative names, as the relay's --images lists them).`,
      };
    case 'not-allowed':
    case 'bad-message':
      return { kind: 'config', message: `KVM mode: the relay refused to ${request}: ${msg}` };
    case 'qemu-failed':
      return { kind: 'config', message: `KVM mode: QEMU could not start the guest. ${msg}` };
    case 'closed':
      return { kind: 'worker', message: `KVM mode: the connection to the relay at ${ctx.url} closed during ${request}. Is the relay still running? Press Start to connect again.` };
    case 'timeout':
      return { kind: 'worker', message: `KVM mode: the relay at ${ctx.url} did not answer the ${request} request in time.` };
    default:
      return { kind: 'crash', message: `KVM mode: ${request} failed: ${msg}` };
  }
}

/** The connection ended while the page still used it. */
export function closedError(info: CloseInfo, ctx: RelayContext, hadVm: boolean): VMError {
  const what = info.code === CLOSE_CODES.relayShutdown
    ? `the relay at ${ctx.url} shut down`
    : `the connection to the relay at ${ctx.url} closed (code ${info.code}${info.reason ? `: ${info.reason}` : ''})`;
  const vm = hadVm ? ', and the VM ended with it (the relay stops a VM when its page disconnects)' : '';
  return { kind: 'worker', message: `KVM mode: ${what}${vm}. Start the relay again and press Start to reconnect.` };
}

/** What the page says when QEMU ended: an error, a notice, a power-off, or nothing (the page asked for it). */
export type ExitReport =
  | { type: 'poweroff' }
  | { type: 'error'; error: VMError }
  | { type: 'notice'; message: string }
  | { type: 'quiet' };

export function exitReport(e: ExitedEvent): ExitReport {
  switch (e.reason) {
    case 'guest-shutdown':
      return { type: 'poweroff' };
    case 'quit':
      return { type: 'quiet' };
    case 'crashed':
      return {
        type: 'error',
        error: { kind: 'crash', message: `KVM mode: QEMU ended unexpectedly and the guest with it: ${sentence(e.message)} Press Start to boot again.` },
      };
    case 'exited':
      return { type: 'notice', message: `KVM mode: ${sentence(e.message)}` };
  }
}

/** An `error` event: the accelerator stopped the guest (KVM internal error). */
export function guestError(e: Extract<RelayEvent, { event: 'error' }>): VMError {
  return { kind: 'crash', message: `KVM mode: ${sentence(e.message)}` };
}

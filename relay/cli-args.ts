// Command-line options of ts86-relay, parsed into a plain config object.
// Parsing is pure (no I/O) so every rule here is unit-tested; run.ts does
// the I/O (opening the images directory, probing KVM, listening).

import { parseArgs } from 'node:util';
import { DEFAULT_ALLOWED_ORIGINS, normalizeOrigin } from './auth.ts';
import { DEFAULT_PROBE_TIMEOUT_MS, type AccelMode } from './kvm-probe.ts';

export interface RelayConfig {
  host: string;
  port: number;
  /** The operator said --host/--listen-any with a non-loopback address. */
  exposed: boolean;
  imagesDir: string;
  accel: AccelMode;
  allowedOrigins: string[];
  requireOrigin: boolean;
  maxSessions: number;
  maxMemoryMiB: number;
  allowNetwork: boolean;
  writableDisks: boolean;
  probeTimeoutMs: number;
  sandbox: boolean;
}

export type ParsedArgs = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: RelayConfig };

export const DEFAULT_PORT = 8086;

export const HELP = `Usage: ts86-relay [options]

Runs QEMU (with KVM when it works, TCG otherwise) for the ts86 page's
"KVM mode", bridged over a WebSocket. Prints a token at start that clients
must present. See relay/README.md for the protocol.

Options:
  --port N              TCP port (default ${DEFAULT_PORT}; 0 picks a free one)
  --host ADDR           address to bind (default 127.0.0.1). Anything but a
                        loopback address exposes VMs to the network: a warning
                        is printed
  --listen-any          same as --host 0.0.0.0
  --images DIR          the only directory clients may boot files from
                        (default: public/images of this checkout)
  --accel MODE          auto (default: probe KVM by booting a test guest, fall
                        back to TCG), kvm (force, no probe), or tcg
  --allow-origin URL    page origin allowed to connect; repeatable or
                        comma-separated; replaces the default list
                        (${DEFAULT_ALLOWED_ORIGINS.join(', ')})
  --require-origin      refuse clients that send no Origin header (non-browser
                        programs); by default they only need the token
  --max-sessions N      concurrent clients, each with at most one VM (default 4)
  --max-memory MIB      largest guest memory a client may ask for (default 2048)
  --allow-network       let clients ask for user-mode networking (default: -nic none)
  --writable-disks      let guests write to disk images (default: writes go to
                        a throw-away overlay)
  --probe-timeout SEC   how long the KVM test guest may take (default ${DEFAULT_PROBE_TIMEOUT_MS / 1000})
  --no-sandbox          do not pass QEMU -sandbox on (seccomp)
  --version             print the version
  -h, --help            this text

Environment:
  TS86_RELAY_TOKEN      use this token (at least 16 characters) instead of a
                        random one, e.g. for scripts; not a flag, so it does
                        not show up in the process list
`;

function positiveInt(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new Error(`--${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(value)}`);
  }
  return n;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Throws an Error with a message for the operator on bad input. */
export function parseRelayArgs(argv: string[], defaults: { imagesDir: string }): ParsedArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'listen-any': { type: 'boolean' },
      images: { type: 'string' },
      accel: { type: 'string' },
      'allow-origin': { type: 'string', multiple: true },
      'require-origin': { type: 'boolean' },
      'max-sessions': { type: 'string' },
      'max-memory': { type: 'string' },
      'allow-network': { type: 'boolean' },
      'writable-disks': { type: 'boolean' },
      'probe-timeout': { type: 'string' },
      'no-sandbox': { type: 'boolean' },
      version: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  if (values['listen-any'] && values.host !== undefined) throw new Error('give either --host or --listen-any, not both');
  const host = values['listen-any'] ? '0.0.0.0' : (values.host ?? '127.0.0.1');
  if (host.length === 0) throw new Error('--host must not be empty');

  const accel = values.accel ?? 'auto';
  if (accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg') {
    throw new Error(`--accel must be auto, kvm or tcg, not ${JSON.stringify(accel)}`);
  }

  const origins = values['allow-origin']
    ? values['allow-origin'].flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean).map(normalizeOrigin)
    : [...DEFAULT_ALLOWED_ORIGINS];
  if (origins.length === 0) throw new Error('--allow-origin needs at least one origin');

  return {
    kind: 'run',
    config: {
      host,
      port: values.port === undefined ? DEFAULT_PORT : positiveInt('port', values.port, 0, 65535),
      exposed: !isLoopback(host),
      imagesDir: values.images ?? defaults.imagesDir,
      accel,
      allowedOrigins: [...new Set(origins)],
      requireOrigin: values['require-origin'] ?? false,
      maxSessions: values['max-sessions'] === undefined ? 4 : positiveInt('max-sessions', values['max-sessions'], 1, 256),
      maxMemoryMiB: values['max-memory'] === undefined ? 2048 : positiveInt('max-memory', values['max-memory'], 16, 1024 * 1024),
      allowNetwork: values['allow-network'] ?? false,
      writableDisks: values['writable-disks'] ?? false,
      probeTimeoutMs:
        values['probe-timeout'] === undefined ? DEFAULT_PROBE_TIMEOUT_MS : positiveInt('probe-timeout', values['probe-timeout'], 1, 600) * 1000,
      sandbox: !values['no-sandbox'],
    },
  };
}

// An error the relay reports to a client as-is: a protocol error code plus a
// message a person can act on. Anything else that escapes a handler is a
// relay bug and is reported as `internal`.

import type { ErrorCode } from './protocol.ts';

export class RelayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RelayError';
  }
}

// Guest uptime in KVM mode. QEMU does not report the guest's clock through
// the relay, so the page measures wall time while the VM runs: from the
// relay's `started` event, not counting paused spells, frozen at exit.

export class UptimeClock {
  private startedAt: number | null = null;
  private pausedAt: number | null = null;
  private stoppedAt: number | null = null;
  private pausedMs = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  start(): void {
    this.startedAt = this.now();
    this.pausedAt = this.stoppedAt = null;
    this.pausedMs = 0;
  }

  pause(): void {
    if (this.startedAt !== null && this.pausedAt === null && this.stoppedAt === null) this.pausedAt = this.now();
  }

  resume(): void {
    if (this.pausedAt === null) return;
    this.pausedMs += this.now() - this.pausedAt;
    this.pausedAt = null;
  }

  stop(): void {
    if (this.startedAt === null || this.stoppedAt !== null) return;
    this.resume();
    this.stoppedAt = this.now();
  }

  seconds(): number {
    if (this.startedAt === null) return 0;
    const end = this.stoppedAt ?? this.pausedAt ?? this.now();
    return Math.max(0, end - this.startedAt - this.pausedMs) / 1000;
  }
}

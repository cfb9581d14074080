// The page's KVM backend (src/ui/kvm/kvm-vm.ts) in Node against a real
// relay and QEMU (TCG), with the relay's generated echo guest, which boots
// in milliseconds: how every VMHandle call maps to the relay protocol and
// every relay event to the VM events the page shows. The page itself, with
// the Debian guest, is kvm-mode.e2e.ts.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { WebSocket } from 'ws';
import { startTestRelay, type TestRelay } from '../../relay/test-support/relay-harness.ts';
import { ECHO_GUEST_BANNER } from '../../relay/guest/test-guests.ts';
import { KvmVM, type KvmVMOptions } from '../../src/ui/kvm/kvm-vm.ts';
import type { VMError, VMEventMap } from '../../src/ui/vm/types.ts';


const ECHO = { kernel: 'guests/echo.elf', append: '', bootedPattern: 'guest ready' };

/** A KvmVM with a record of everything it announced. */
function machine(relay: TestRelay, extra: Partial<KvmVMOptions> = {}) {
  const vm = new KvmVM({
    relay: { url: relay.server.url, token: relay.token },
    boot: ECHO,
    WebSocket: WebSocket as unknown as KvmVMOptions['WebSocket'],
    pageOrigin: 'http://127.0.0.1:5173',
    powerOffGraceMs: 400,
    ...extra,
  });
  const seen = { states: [] as string[], errors: [] as VMError[], notices: [] as string[], resets: [] as string[], booted: 0, poweredOff: 0 };
  const log = <K extends keyof VMEventMap>(type: K, f: (d: VMEventMap[K]) => void) => vm.on(type, f);
  log('state', ({ state }) => seen.states.push(state));
  log('error', (e) => seen.errors.push(e));
  log('notice', ({ message }) => seen.notices.push(message));
  log('reset', ({ reason }) => seen.resets.push(reason));
  log('booted', () => { seen.booted++; });
  log('powered-off', () => { seen.poweredOff++; });
  vms.push(vm);
  return { vm, seen };
}

const vms: KvmVM[] = [];
let relay: TestRelay;

const until = async (cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('KvmVM, the page\'s KVM-mode backend', () => {
  beforeAll(async () => { relay = await startTestRelay({ defaultGuest: false }); });
  afterEach(() => { for (const vm of vms.splice(0)) vm.destroy(); });
  afterAll(async () => { await relay?.close(); });

  it('boots through the relay and maps console, pause, resume, reset and Power off to it', async () => {
    const { vm, seen } = machine(relay);
    const typedBack: string[] = [];
    vm.onData((b) => typedBack.push(Buffer.from(b).toString('latin1')));
    await vm.start();
    expect(vm.state).toBe('running');
    expect(seen.states).toEqual(['loading', 'running']);
    await vm.waitForOutput(ECHO_GUEST_BANNER, 10_000);
    await until(() => seen.booted === 1, 'booted');
    expect(vm.relayInfo).toMatchObject({ url: relay.server.url, accel: 'tcg', server: 'ts86-relay/test' });
    expect((await vm.stats()).memoryMiB).toBe(128);

    vm.write('ping');
    expect(await vm.waitForOutput('ping', 5000)).toBe('ping'); // the guest echoes it
    expect((await vm.stats()).serialRxBytes).toBe(4);

    await vm.pause();
    expect(vm.state).toBe('paused');
    expect(relay.vms[0]!.hasExited).toBe(false);
    const frozen = (await vm.stats()).uptimeSeconds;
    await new Promise((r) => setTimeout(r, 200));
    expect((await vm.stats()).uptimeSeconds).toBe(frozen);
    await vm.resume();
    expect(vm.state).toBe('running');
    expect(seen.notices).toEqual([]); // a pause the page asked for is not news

    await vm.reset();
    await until(() => seen.booted === 2, 'the banner again after the reset');
    expect(seen.resets).toEqual(['the Reset button']);

    // Power off: the ACPI button, which the echo guest ignores, then QEMU is ended after the grace period.
    await vm.stop();
    expect(vm.state).toBe('stopped');
    expect(relay.vms[0]!.hasExited).toBe(true);
    expect(seen.notices).toEqual([expect.stringMatching(/did not power off within 0\.4 s of the ACPI power button/)]);
    expect(seen.errors).toEqual([]);
    expect(seen.poweredOff).toBe(0);

    // Reset while off boots again, on the same connection.
    await vm.reset();
    await until(() => vm.state === 'running', 'running again');
    expect(relay.vms).toHaveLength(2);
  });

  it('reports QEMU dying as a crash, and Start boots a new VM', async () => {
    const { vm, seen } = machine(relay);
    await vm.start();
    const qemu = relay.vms.at(-1)!;
    process.kill(qemu.pid, 'SIGKILL');
    await until(() => vm.state === 'error', 'the error state');
    expect(seen.errors).toHaveLength(1);
    expect(seen.errors[0]!.kind).toBe('crash');
    expect(seen.errors[0]!.message).toMatch(/^KVM mode: QEMU ended unexpectedly and the guest with it: QEMU died \(.*SIGKILL.*\)\. Press Start to boot again\.$/);
    await vm.start();
    expect(vm.state).toBe('running');
    expect(relay.vms.at(-1)).not.toBe(qemu);
  });

  it('a boot while a VM runs replaces it (one VM per connection)', async () => {
    const { vm, seen } = machine(relay);
    await vm.start();
    const first = relay.vms.at(-1)!;
    await vm.boot({ memoryMiB: 64 });
    expect(first.hasExited).toBe(true);
    expect(vm.state).toBe('running');
    expect((await vm.stats()).memoryMiB).toBe(64);
    expect(seen.states).toEqual(['loading', 'running', 'loading', 'running']); // no 'stopped' in between
  });

  it('refuses what QEMU cannot boot, with the reason', async () => {
    const { vm, seen } = machine(relay);
    await expect(vm.boot({ kernel: '../../etc/passwd' })).rejects.toThrow(/refused/);
    expect(seen.errors[0]).toMatchObject({ kind: 'image', message: expect.stringMatching(/^KVM mode: kernel "\.\.\/\.\.\/etc\/passwd" refused: .*In KVM mode, kernel=, initrd= and multiboot= name files in the relay's images directory/) });
    await expect(vm.boot({ kernel: 'no-such-kernel' })).rejects.toThrow(/does not exist/);
    // A file picked on this computer never reaches the relay: QEMU cannot open it.
    const before = relay.vms.length;
    await expect(vm.boot({ kernel: new Blob([new Uint8Array(16)]) })).rejects.toThrow(/must be given by name/);
    expect(seen.errors.at(-1)!.kind).toBe('config');
    expect(relay.vms).toHaveLength(before);
    expect(vm.state).toBe('error');
  });

  it('says when the relay goes away under a running VM, and when nothing listens', async () => {
    const own = await startTestRelay({ defaultGuest: false });
    const { vm, seen } = machine(own);
    await vm.start();
    await own.close(); // the relay shuts down: its clients are told (1001) and their VMs end
    await until(() => vm.state === 'error', 'the error state');
    expect(seen.errors.at(-1)).toMatchObject({ kind: 'worker', message: expect.stringMatching(/^KVM mode: the relay at ws:\/\/127\.0\.0\.1:\d+\/ shut down, and the VM ended with it/) });
    // Start again: nothing listens there any more.
    await expect(vm.start()).rejects.toThrow(/could not connect to the relay/);
    expect(seen.errors.at(-1)!.message).toContain('start it with "--allow-origin http://127.0.0.1:5173"');
  });
});

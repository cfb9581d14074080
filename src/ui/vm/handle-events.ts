// What every VMHandle implementation (the in-browser VM, the KVM-mode relay
// VM, and the page's ActiveMachine that stands for either) shares: its event
// emitter and the serial-output listeners.
import { Emitter } from './emitter.ts';
import type { VMEventMap } from './types.ts';

export abstract class HandleEvents {
  protected readonly events = new Emitter<VMEventMap>();
  protected readonly dataListeners = new Set<(bytes: Uint8Array) => void>();

  on<K extends keyof VMEventMap>(type: K, listener: (detail: VMEventMap[K]) => void): () => void {
    return this.events.on(type, listener);
  }

  off<K extends keyof VMEventMap>(type: K, listener: (detail: VMEventMap[K]) => void): void {
    this.events.off(type, listener);
  }

  onData(listener: (bytes: Uint8Array) => void): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }

  /** Hands guest output to every onData listener; one listener's exception does not stop the others. */
  protected emitData(bytes: Uint8Array): void {
    for (const l of [...this.dataListeners]) {
      try { l(bytes); } catch (e) { console.error('ts86: an onData listener threw', e); }
    }
  }
}

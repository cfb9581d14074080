// A minimal typed event emitter for the VM handle: listeners by event name,
// each returning an unsubscribe function. A throwing listener is reported,
// not allowed to break the machine's event delivery to the others.

export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly listeners = new Map<keyof Events, Set<(detail: never) => void>>();

  on<K extends keyof Events>(type: K, listener: (detail: Events[K]) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener as (detail: never) => void);
    return () => this.off(type, listener);
  }

  off<K extends keyof Events>(type: K, listener: (detail: Events[K]) => void): void {
    this.listeners.get(type)?.delete(listener as (detail: never) => void);
  }

  emit<K extends keyof Events>(type: K, detail: Events[K]): void {
    for (const l of [...(this.listeners.get(type) ?? [])]) {
      try {
        (l as (d: Events[K]) => void)(detail);
      } catch (e) {
        console.error(`ts86: a "${String(type)}" listener threw`, e);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}

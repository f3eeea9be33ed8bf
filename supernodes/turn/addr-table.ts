/**
 * A map keyed by transport address (host string + port) for the relay's per-packet
 * lookups. Hashing a fresh host string per datagram (each received datagram brings a
 * new string) costs more than hashing the port, a small integer: entries are found by
 * port first, then by comparing the host in a short chain (usually one entry).
 *
 * @module
 */

interface Entry<T> {
  readonly host: string;
  readonly port: number;
  value: T;
  next: Entry<T> | undefined;
}

/** Address -> T; see module docs. */
export class AddrTable<T> {
  private readonly byPort = new Map<number, Entry<T>>();
  private n = 0;

  /** Number of entries. */
  get size(): number {
    return this.n;
  }

  get(host: string, port: number): T | undefined {
    let e = this.byPort.get(port);
    while (e !== undefined) {
      if (e.host === host) return e.value;
      e = e.next;
    }
    return undefined;
  }

  set(host: string, port: number, value: T): void {
    const head = this.byPort.get(port);
    for (let e = head; e !== undefined; e = e.next) {
      if (e.host === host) {
        e.value = value;
        return;
      }
    }
    this.byPort.set(port, { host, port, value, next: head });
    this.n++;
  }

  /** Remove the entry; true if there was one. */
  delete(host: string, port: number): boolean {
    let prev: Entry<T> | undefined;
    for (let e = this.byPort.get(port); e !== undefined; prev = e, e = e.next) {
      if (e.host !== host) continue;
      if (prev) prev.next = e.next;
      else if (e.next) this.byPort.set(port, e.next);
      else this.byPort.delete(port);
      this.n--;
      return true;
    }
    return false;
  }

  /** A snapshot of the values (safe to mutate the table while iterating it). */
  values(): T[] {
    const out: T[] = [];
    for (const head of this.byPort.values()) for (let e: Entry<T> | undefined = head; e; e = e.next) out.push(e.value);
    return out;
  }

  clear(): void {
    this.byPort.clear();
    this.n = 0;
  }
}

/**
 * A small typed event hub: `on(event, handler)` returns its own unsubscribe function;
 * `emit` calls every handler of that event, and a handler that throws does not stop the
 * others (its error goes to `onHandlerError`). Long-lived components (OverlayNode,
 * TincanNode) keep one and expose its `on`.
 *
 * @example
 * ```ts
 * interface Events { role: { role: string } }
 * const events = new TypedEvents<Events>((err) => log.debug({ err: String(err) }, 'event handler failed'));
 * const off = events.on('role', (e) => console.log(e.role));
 * events.emit('role', { role: 'supernode' });
 * off();
 * ```
 * @module
 */

/** Handlers per event name of an event map `E` (event name -> payload type). */
export class TypedEvents<E> {
  private readonly handlers = new Map<keyof E, Set<(e: never) => void>>();

  /** `onHandlerError` receives what a handler threw. */
  constructor(private readonly onHandlerError: (err: unknown) => void = () => {}) {}

  /** Subscribe to `event`; returns the unsubscribe function. */
  on<K extends keyof E>(event: K, handler: (e: E[K]) => void): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler as (e: never) => void);
    return () => void set.delete(handler as (e: never) => void);
  }

  /** Call every handler of `event` with `e`. */
  emit<K extends keyof E>(event: K, e: E[K]): void {
    for (const h of this.handlers.get(event) ?? []) {
      try {
        (h as (x: E[K]) => void)(e);
      } catch (err) {
        this.onHandlerError(err);
      }
    }
  }

  /** How many handlers `event` has (for leak checks). */
  count(event: keyof E): number {
    return this.handlers.get(event)?.size ?? 0;
  }
}

/**
 * Request/response over a {@link MessageEndpoint} (so over fragmentation and a session):
 *
 * - requests carry a u32 id; each has a deadline and is retransmitted with exponential
 *   backoff plus jitter until answered (all timing on the injected {@link Clock} and
 *   {@link Random}, so it runs unchanged on a VirtualClock);
 * - the responder executes a request id at most once: ids are tracked in a
 *   {@link SerialWindow}, a duplicate of a finished request gets the cached response
 *   again, a duplicate of a running one is ignored;
 * - failures are {@link RpcError}s with a code, sent back as `err` messages;
 * - `AbortSignal` per request; `close()` rejects everything pending with the reason;
 * - every table is bounded: requests in flight, handlers running, cached responses
 *   (entries, bytes and age).
 *
 * @example
 * ```ts
 * const Echo = defineMethod('test.echo', Type.String({ maxLength: 100 }), Type.String({ maxLength: 100 }));
 * // each side of a session:
 * const endpoint = new MessageEndpoint(new FragmentedChannel(channel, { clock: env.clock }), registry);
 * const rpc = new RpcPeer(endpoint, { clock: env.clock, random: env.random });
 * rpc.handle(Echo, (text) => text.toUpperCase());
 * const reply = await rpc.request(Echo, 'hi', { timeoutMs: 5000, signal }); // 'HI'
 * rpc.close('shutting down'); // pending requests reject with RpcError('closed')
 * ```
 * @module
 */
import type { Clock, Timer } from '../clock.ts';
import type { Random } from '../random.ts';
import { ErrorMessage, MessageEncodeError, RequestMessage, ResponseMessage, type MessageDef, type MessageOf, type WireMessage } from './messages.ts';
import { RpcError } from './rpc-error.ts';
import type { RpcMethod } from './rpc-method.ts';
import { SerialWindow } from './serial-window.ts';

/**
 * A message in the form {@link RpcPeer} keeps it for sending and resending: the bytes of
 * `MessageRegistry.encode` (whose `length` is the encoded size), or a simulator's stand-in
 * that carries the same `length`.
 */
export interface EncodedMessage {
  readonly length: number;
}

/**
 * What an {@link RpcPeer} needs of its endpoint: a `MessageEndpoint` (the real path:
 * schema-validated JSON over fragmentation and a session), or a simulator's stand-in
 * with the same behaviour (src/overlay/sim/sim-endpoint.ts).
 */
export interface RpcEndpoint {
  readonly registry: { encode(message: WireMessage): EncodedMessage };
  sendEncoded(bytes: EncodedMessage): void;
  on<M extends { type: string }>(def: MessageDef<M>, handler: (message: M) => void): () => void;
  onClose(handler: (reason: string) => void): () => void;
  close(reason?: string): void;
  /**
   * Optional: hand every request, response and error envelope, and the endpoint's close,
   * to one {@link RpcReceiver} instead of three handlers and a close handler (no closures
   * per peer: a simulated network holds hundreds of thousands of peers). An {@link RpcPeer}
   * that closes its endpoint uses it when present. The envelopes must be what `on` would
   * deliver (the simulator's own objects, or decoded and validated by the registry).
   */
  serve?(receiver: RpcReceiver): void;
}

/** What an endpoint's {@link RpcEndpoint.serve} delivers to: an {@link RpcPeer}. */
export interface RpcReceiver {
  /** A request, response or error envelope (other messages are the endpoint's to route). */
  receive(message: WireMessage): void;
  /** The endpoint closed with `reason`. */
  endpointClosed(reason: string): void;
}

/** Limits and default timing of an {@link RpcPeer}. */
export interface RpcOptions {
  clock: Clock;
  random: Random;
  /** Own requests awaiting an answer; more are refused with `overloaded` (default 64). */
  maxInFlight?: number;
  /** Peer requests being handled at once; more are answered `overloaded` (default 32). */
  maxConcurrentHandlers?: number;
  /** A handler still running after this long is abandoned and answered `timeout` (default 30 s). */
  handlerTimeoutMs?: number;
  /** Responses kept for duplicate requests: entries (default 256) ... */
  responseCacheEntries?: number;
  /** ... total encoded bytes (default 1 MiB) ... */
  responseCacheBytes?: number;
  /** ... and age (default 60 s; keep it above the requesters' timeouts). */
  responseCacheTtlMs?: number;
  /** Executed request ids remembered (default 4096). */
  executedWindow?: number;
  /** Defaults for {@link RequestOptions}. */
  defaults?: Omit<RequestOptions, 'signal'>;
  /** Whether {@link RpcPeer.close} closes the endpoint (default true). */
  closeEndpoint?: boolean;
  /**
   * Validate parameters and results against the method schemas on both sides (default
   * true). Only a simulator whose every message comes from its own code turns it off (its
   * tests run the same simulation with validation on and compare); real peers always
   * validate.
   */
  validate?: boolean;
  /**
   * Handlers shared by many peers (e.g. every link of one node), consulted after the
   * peer's own ({@link RpcPeer.handle}). One table per node instead of a set of closures
   * per link: a simulated supernode holds hundreds of links. A shared handler finds its
   * peer in `ctx.peer` (and the owner's data in its {@link RpcPeer.tag}).
   */
  handlers?: RpcHandlers;
  /**
   * Free slot for the owner, read back as {@link RpcPeer.tag} (e.g. the link the peer runs
   * on). The constructor's `tag` argument overrides it, so that one options object can
   * serve many peers.
   */
  tag?: unknown;
}

/** The limits and request defaults an {@link RpcOptions} object comes to (made once per options object). */
interface RpcSettings {
  readonly limits: Readonly<Required<Omit<RpcOptions, 'clock' | 'random' | 'defaults' | 'validate' | 'handlers' | 'tag'>>>;
  readonly defaults: Readonly<Required<Omit<RequestOptions, 'signal'>>>;
}

/** Settings by options object: peers made from one options object share them (read once; do not change the object afterwards). */
const SETTINGS = new WeakMap<RpcOptions, RpcSettings>();

function settingsOf(options: RpcOptions): RpcSettings {
  let s = SETTINGS.get(options);
  if (s === undefined) {
    const limits = {
      maxInFlight: options.maxInFlight ?? 64,
      maxConcurrentHandlers: options.maxConcurrentHandlers ?? 32,
      handlerTimeoutMs: options.handlerTimeoutMs ?? 30_000,
      responseCacheEntries: options.responseCacheEntries ?? 256,
      responseCacheBytes: options.responseCacheBytes ?? 1 << 20,
      responseCacheTtlMs: options.responseCacheTtlMs ?? 60_000,
      executedWindow: options.executedWindow ?? 4096,
      closeEndpoint: options.closeEndpoint ?? true,
    };
    SerialWindow.checkSize(limits.executedWindow); // the window itself is made when first needed
    const defaults = { timeoutMs: 10_000, retries: 4, initialRtoMs: 500, maxRtoMs: 4000, jitter: 0.25, ...options.defaults };
    s = Object.freeze({ limits: Object.freeze(limits), defaults: Object.freeze(defaults) });
    SETTINGS.set(options, s);
  }
  return s;
}

/** A method's handler as registered. */
interface HandlerEntry {
  method: RpcMethod<unknown, unknown>;
  fn: RpcHandler<unknown, unknown>;
}

/**
 * A table of handlers that any number of {@link RpcPeer}s serve (`RpcOptions.handlers`).
 *
 * @example
 * ```ts
 * const shared = new RpcHandlers();
 * shared.handle(Ping, (_params, ctx) => `pong from link ${ctx.peer.tag}`);
 * const rpc = new RpcPeer(endpoint, { clock, random, handlers: shared, tag: 7 });
 * ```
 */
export class RpcHandlers {
  private readonly table = new Map<string, HandlerEntry>();

  /** Serve `method` on every peer using this table; returns a remover. One handler per method (a second one throws). */
  handle<P, R>(method: RpcMethod<P, R>, handler: RpcHandler<P, R>): () => void {
    return addHandler(this.table, method, handler);
  }

  /** @internal */
  get(name: string): HandlerEntry | undefined {
    return this.table.get(name);
  }
}

function addHandler<P, R>(table: Map<string, HandlerEntry>, method: RpcMethod<P, R>, handler: RpcHandler<P, R>): () => void {
  if (table.has(method.name)) throw new Error(`a handler for ${method.name} is already registered`);
  const entry: HandlerEntry = { method: method as RpcMethod<unknown, unknown>, fn: handler as RpcHandler<unknown, unknown> };
  table.set(method.name, entry);
  return () => {
    if (table.get(method.name) === entry) table.delete(method.name);
  };
}

/** Per-request options. */
export interface RequestOptions {
  /** Overall deadline (default 10 s). */
  timeoutMs?: number;
  /** Retransmissions after the first send (default 4). */
  retries?: number;
  /** Wait before the first retransmission; doubles each time (default 500 ms). */
  initialRtoMs?: number;
  /** Cap of the retransmission wait (default 4 s). */
  maxRtoMs?: number;
  /** Relative jitter of each wait, 0..1 (default 0.25: +-25%). */
  jitter?: number;
  /** Abort the request; it rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** What a handler gets besides the parameters. */
export interface RpcContext {
  /** The request id (per requesting peer). */
  readonly id: number;
  readonly method: string;
  /** Aborted when the peer closes or the handler exceeds `handlerTimeoutMs`. */
  readonly signal: AbortSignal;
  /** The peer the request came from (for handlers shared by many peers, {@link RpcHandlers}). */
  readonly peer: RpcPeer;
}

/** Handles one method; throw an {@link RpcError} to answer with a specific code. */
export type RpcHandler<P, R> = (params: P, ctx: RpcContext) => R | Promise<R>;

/** Counters and table sizes of an {@link RpcPeer}. */
export interface RpcStats {
  inFlight: number;
  running: number;
  cachedResponses: number;
  cachedBytes: number;
  requested: number;
  retransmitted: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  aborted: number;
  refusedOverloaded: number;
  lateResponses: number;
  handled: number;
  duplicatesReplayed: number;
  duplicatesIgnored: number;
  duplicatesRefused: number;
  overloadedAnswered: number;
  /** The channel threw on send (e.g. its session closed); the retry/timeout path takes over. */
  sendErrors: number;
}

interface Pending {
  method: RpcMethod<unknown, unknown>;
  bytes: EncodedMessage;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  sends: number;
  retryTimer?: Timer;
  deadline: Timer;
  cleanupSignal?: () => void;
  /** Last `overloaded` answer, reported if the deadline passes. */
  lastError?: string;
  opts: Required<Omit<RequestOptions, 'signal'>>;
}

/** A handler run in progress: its deadline, and its abort controller once the handler asked for `ctx.signal`. */
interface Run {
  ac: AbortController | undefined;
  timer: Timer | undefined;
}

type Req = MessageOf<typeof RequestMessage>;
type Res = MessageOf<typeof ResponseMessage>;
type Err = MessageOf<typeof ErrorMessage>;

/** Both sides of request/response with one peer; see module docs. */
export class RpcPeer implements RpcReceiver {
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly o: RpcSettings['limits'];
  private readonly validate: boolean;
  private readonly defaults: RpcSettings['defaults'];
  // Tables are made on first write (until then they are the shared empty NONE): most
  // links of a large node carry a few requests in their lifetime, and these are most of
  // an idle link's memory.
  private handlers: Map<string, HandlerEntry> = none();
  private readonly shared: RpcHandlers | undefined;
  private pending: Map<number, Pending> = none();
  private running: Map<number, Run> = none();
  private cache: Map<number, { bytes: EncodedMessage; at: number }> = none();
  /** The owner's data (`RpcOptions.tag`). */
  readonly tag: unknown;
  /** Made at the first request served (a peer that only asks never needs it). */
  private executed: SerialWindow | undefined;
  /** Removers of the endpoint handlers, kept only when closing this peer leaves the endpoint open. */
  private readonly detach: readonly (() => void)[];
  private cachedBytes = 0;
  private nextId = 0;
  private closedReason: string | undefined;
  private readonly counters = {
    requested: 0,
    retransmitted: 0,
    succeeded: 0,
    failed: 0,
    timedOut: 0,
    aborted: 0,
    refusedOverloaded: 0,
    lateResponses: 0,
    handled: 0,
    duplicatesReplayed: 0,
    duplicatesIgnored: 0,
    duplicatesRefused: 0,
    overloadedAnswered: 0,
    sendErrors: 0,
  };

  /**
   * @param options read once per object: peers made from the same object share its
   *   settings (a node with thousands of links passes one)
   * @param tag the owner's data for this peer (default `options.tag`)
   */
  constructor(
    private readonly endpoint: RpcEndpoint,
    options: RpcOptions,
    tag: unknown = options.tag,
  ) {
    this.clock = options.clock;
    this.random = options.random;
    const settings = settingsOf(options);
    this.o = settings.limits;
    this.defaults = settings.defaults;
    this.validate = options.validate ?? true;
    this.shared = options.handlers;
    this.tag = tag;
    if (this.o.closeEndpoint && endpoint.serve !== undefined) {
      // One receiver instead of four handlers; nothing to detach (the endpoint closes with us).
      endpoint.serve(this);
      this.detach = NO_REMOVERS;
      return;
    }
    const removers = [
      endpoint.on(RequestMessage, (m) => this.onRequest(m)),
      endpoint.on(ResponseMessage, (m) => this.onResponse(m)),
      endpoint.on(ErrorMessage, (m) => this.onError(m)),
      endpoint.onClose((reason) => this.shutdown(reason, false)),
    ];
    // An endpoint we close, or that closes under us, drops its handlers itself: a node with
    // thousands of links need not keep four removers per link for that.
    this.detach = this.o.closeEndpoint ? NO_REMOVERS : removers;
  }

  /** @internal {@link RpcReceiver}: an envelope from an endpoint that serves this peer. */
  receive(message: WireMessage): void {
    switch (message.type) {
      case 'req':
        return this.onRequest(message as unknown as Req);
      case 'res':
        return this.onResponse(message as unknown as Res);
      case 'err':
        return this.onError(message as unknown as Err);
    }
  }

  /** @internal {@link RpcReceiver}: the endpoint closed. */
  endpointClosed(reason: string): void {
    this.shutdown(reason, false);
  }

  /**
   * Drop cached responses older than the cache's TTL now rather than at the next response
   * cached (they are never replayed once expired): for an owner's periodic sweep, so idle
   * links do not hold their last answers.
   */
  dropExpiredResponses(): void {
    if (this.cache.size === 0) return;
    const now = this.clock.now();
    for (const [id, e] of this.cache) {
      // Oldest first (insertion order, `at` never decreases): stop at the first one still fresh.
      if (e.at + this.o.responseCacheTtlMs > now) break;
      this.cacheDelete(id);
    }
    if (this.cache.size === 0) this.cache = none();
  }

  /** Serve `method`; returns a remover. One handler per method (a second one throws). */
  handle<P, R>(method: RpcMethod<P, R>, handler: RpcHandler<P, R>): () => void {
    if (this.handlers === NONE) this.handlers = new Map();
    return addHandler(this.handlers, method, handler);
  }

  /**
   * Call `method` at the peer. Resolves with the validated result; rejects with an
   * {@link RpcError} (`timeout`, `closed`, `overloaded`, `bad-params`, `bad-result`,
   * `too-large`, or the peer's code with `remote: true`), or with `signal.reason`.
   */
  request<P, R>(method: RpcMethod<P, R>, params: P, options: RequestOptions = {}): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const { signal } = options;
      if (this.closedReason !== undefined) return reject(new RpcError('closed', `rpc closed: ${this.closedReason}`));
      if (signal?.aborted) return reject(signal.reason);
      if (this.validate) {
        const checked = method.params.validate(params);
        if (!checked.ok) return reject(new RpcError('bad-params', `${method.name} params: ${checked.error}`));
      }
      if (this.pending.size >= this.o.maxInFlight) {
        this.counters.refusedOverloaded++;
        return reject(new RpcError('overloaded', `too many requests in flight (${this.o.maxInFlight})`));
      }
      let id = this.nextId;
      while (this.pending.has(id)) id = (id + 1) >>> 0;
      this.nextId = (id + 1) >>> 0;
      let bytes: EncodedMessage;
      try {
        bytes = this.endpoint.registry.encode({ type: 'req', id, method: method.name, params });
      } catch (err) {
        return reject(err instanceof MessageEncodeError && err.reason === 'size' ? new RpcError('too-large', err.message) : err);
      }
      const d = this.defaults;
      const opts: Required<Omit<RequestOptions, 'signal'>> = {
        timeoutMs: options.timeoutMs ?? d.timeoutMs,
        retries: options.retries ?? d.retries,
        initialRtoMs: options.initialRtoMs ?? d.initialRtoMs,
        maxRtoMs: options.maxRtoMs ?? d.maxRtoMs,
        jitter: options.jitter ?? d.jitter,
      };
      // Runtime timers misbehave beyond 2^31-1 ms (Node fires them at once).
      opts.timeoutMs = Math.min(Math.max(0, opts.timeoutMs), MAX_TIMER_MS);
      opts.maxRtoMs = Math.min(Math.max(1, opts.maxRtoMs), MAX_TIMER_MS);
      const p: Pending = {
        method: method as RpcMethod<unknown, unknown>,
        bytes,
        resolve: resolve as (v: unknown) => void,
        reject,
        sends: 0,
        opts,
        deadline: this.clock.setTimeout(() => {
          this.counters.timedOut++;
          const last = p.lastError ? `; peer said: ${p.lastError}` : '';
          this.settle(id, new RpcError('timeout', `${method.name} timed out after ${opts.timeoutMs} ms (${p.sends} sends${last})`));
        }, opts.timeoutMs),
      };
      if (signal) {
        const onAbort = () => {
          this.counters.aborted++;
          this.settle(id, signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        p.cleanupSignal = () => signal.removeEventListener('abort', onAbort);
      }
      if (this.pending === NONE) this.pending = new Map();
      this.pending.set(id, p);
      this.counters.requested++;
      this.transmit(id, p);
    });
  }

  /** Counters and current table sizes. */
  stats(): RpcStats {
    return { inFlight: this.pending.size, running: this.running.size, cachedResponses: this.cache.size, cachedBytes: this.cachedBytes, ...this.counters };
  }

  /**
   * Stop: reject pending requests with `RpcError('closed', reason)`, abort running
   * handlers, drop caches, and (by default) close the endpoint. Idempotent.
   */
  close(reason = 'rpc closed'): void {
    this.shutdown(reason, this.o.closeEndpoint);
  }

  // --- requester side ---

  private transmit(id: number, p: Pending): void {
    if (p.sends > 0) this.counters.retransmitted++;
    p.sends++;
    this.sendSafely(p.bytes);
    if (p.sends > p.opts.retries) return;
    const base = Math.min(p.opts.maxRtoMs, p.opts.initialRtoMs * 2 ** (p.sends - 1));
    const wait = base * (1 + p.opts.jitter * (2 * this.random.float() - 1));
    p.retryTimer = this.clock.setTimeout(() => {
      if (this.pending.get(id) === p) this.transmit(id, p);
    }, wait);
  }

  /** Finish request `id`: resolve with `value` or reject with `error`. */
  private settle(id: number, error: unknown, value?: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    // An idle peer keeps no table (most peers of a large node ask now and then).
    if (this.pending.size === 0) this.pending = none();
    p.deadline.cancel();
    p.retryTimer?.cancel();
    p.cleanupSignal?.();
    if (error !== undefined) {
      this.counters.failed++;
      p.reject(error);
    } else {
      this.counters.succeeded++;
      p.resolve(value);
    }
  }

  private onResponse(m: Res): void {
    const p = this.pending.get(m.id);
    if (!p) {
      this.counters.lateResponses++;
      return;
    }
    if (!this.validate) return this.settle(m.id, undefined, m.result);
    const r = p.method.result.validate(m.result);
    if (!r.ok) this.settle(m.id, new RpcError('bad-result', `${p.method.name} result: ${r.error}`, true));
    else this.settle(m.id, undefined, r.value);
  }

  private onError(m: Err): void {
    const p = this.pending.get(m.id);
    if (!p) {
      this.counters.lateResponses++;
      return;
    }
    // The peer did not run it, so a retransmission is safe: keep to the backoff schedule.
    if (m.code === 'overloaded' && p.sends <= p.opts.retries) {
      p.lastError = m.message;
      return;
    }
    this.settle(m.id, new RpcError(m.code, `${p.method.name}: ${m.message}`, true));
  }

  // --- responder side ---

  private onRequest(m: Req): void {
    if (this.closedReason !== undefined) return;
    const status = this.executed?.check(m.id) ?? 'new';
    if (status === 'duplicate') {
      if (this.running.has(m.id)) {
        this.counters.duplicatesIgnored++;
        return;
      }
      const cached = this.cacheGet(m.id);
      if (cached) {
        this.counters.duplicatesReplayed++;
        this.sendSafely(cached);
        return;
      }
      this.counters.duplicatesRefused++;
      this.answerUncached(m.id, 'duplicate', 'request already executed; its response has expired');
      return;
    }
    if (status === 'stale') {
      this.counters.duplicatesRefused++;
      this.answerUncached(m.id, 'stale', 'request id too old to tell whether it ran');
      return;
    }
    const entry = this.handlers.get(m.method) ?? this.shared?.get(m.method);
    if (!entry) return this.finish(m.id, { type: 'err', id: m.id, code: 'unknown-method', message: `no method ${m.method}` });
    let value: unknown = m.params;
    if (this.validate) {
      const params = entry.method.params.validate(m.params);
      if (!params.ok) return this.finish(m.id, { type: 'err', id: m.id, code: 'bad-params', message: params.error });
      value = params.value;
    }
    if (this.running.size >= this.o.maxConcurrentHandlers) {
      // Not executed, so not remembered: a retransmission may be served later.
      this.counters.overloadedAnswered++;
      this.answerUncached(m.id, 'overloaded', 'too many requests running');
      return;
    }
    this.markExecuted(m.id);
    this.counters.handled++;
    const id = m.id;
    // The abort controller is made only if the handler asks for `ctx.signal` (most never do).
    const run: Run = { ac: undefined, timer: undefined };
    const ctx: RpcContext = {
      id,
      method: m.method,
      peer: this,
      get signal() {
        return (run.ac ??= new AbortController()).signal;
      },
    };
    let out: unknown;
    try {
      out = entry.fn(value, ctx);
    } catch (err) {
      out = Promise.reject(err);
    }
    if (!isThenable(out)) {
      // Answered synchronously: nothing to time out or abort.
      this.succeed(id, entry.method, out);
      return;
    }
    run.timer = this.clock.setTimeout(() => {
      if (this.running.get(id) !== run) return;
      run.ac?.abort(new RpcError('timeout', 'handler timed out'));
      this.dropRun(id);
      this.finish(id, { type: 'err', id, code: 'timeout', message: `handler did not finish within ${this.o.handlerTimeoutMs} ms` });
    }, this.o.handlerTimeoutMs);
    if (this.running === NONE) this.running = new Map();
    this.running.set(id, run);
    Promise.resolve(out).then(
      (v) => {
        if (this.endRun(id, run)) this.succeed(id, entry.method, v);
      },
      (err: unknown) => {
        if (!this.endRun(id, run)) return;
        if (err instanceof RpcError) this.finish(id, { type: 'err', id, code: safeCode(err.code), message: err.message.slice(0, 1024) });
        else this.finish(id, { type: 'err', id, code: 'internal', message: 'internal error' });
      },
    );
  }

  /** Answer request `id` with the handler's `value` (checked against the result schema). */
  private succeed(id: number, method: RpcMethod<unknown, unknown>, value: unknown): void {
    if (this.validate) {
      const checked = method.result.validate(value);
      if (!checked.ok) return this.finish(id, { type: 'err', id, code: 'internal', message: `handler returned an invalid result` });
      value = checked.value;
    }
    this.finish(id, { type: 'res', id, result: value === undefined ? null : value });
  }

  /** True when the run is still current (not timed out, not closed); clears it. */
  private endRun(id: number, run: Run): boolean {
    if (this.running.get(id) !== run || this.closedReason !== undefined) return false;
    run.timer?.cancel();
    this.dropRun(id);
    return true;
  }

  /** Encode, cache and send the final answer to request `id`. */
  private finish(id: number, message: Res | Err): void {
    if (this.closedReason !== undefined) return;
    this.markExecuted(id);
    let bytes: EncodedMessage;
    try {
      bytes = this.endpoint.registry.encode(message);
    } catch (err) {
      const tooLarge = err instanceof MessageEncodeError && err.reason === 'size';
      bytes = this.endpoint.registry.encode({ type: 'err', id, code: tooLarge ? 'too-large' : 'internal', message: tooLarge ? 'response exceeds 64 KiB' : 'unencodable response' });
    }
    this.cachePut(id, bytes);
    this.sendSafely(bytes);
  }

  private markExecuted(id: number): void {
    (this.executed ??= new SerialWindow(this.o.executedWindow)).mark(id);
  }

  private answerUncached(id: number, code: string, message: string): void {
    this.sendSafely(this.endpoint.registry.encode({ type: 'err', id, code, message }));
  }

  /** Send without throwing: this runs in timer and promise callbacks, where a throw would crash the process. */
  private sendSafely(bytes: EncodedMessage): void {
    try {
      this.endpoint.sendEncoded(bytes);
    } catch {
      this.counters.sendErrors++;
    }
  }

  private cacheGet(id: number): EncodedMessage | undefined {
    const e = this.cache.get(id);
    if (!e) return undefined;
    if (e.at + this.o.responseCacheTtlMs <= this.clock.now()) {
      this.cacheDelete(id);
      return undefined;
    }
    return e.bytes;
  }

  private cachePut(id: number, bytes: EncodedMessage): void {
    const now = this.clock.now();
    this.cacheDelete(id);
    for (const [k, e] of this.cache) {
      const expired = e.at + this.o.responseCacheTtlMs <= now;
      const full = this.cache.size >= this.o.responseCacheEntries || this.cachedBytes + bytes.length > this.o.responseCacheBytes;
      if (!expired && !full) break;
      this.cacheDelete(k);
    }
    if (bytes.length > this.o.responseCacheBytes || this.o.responseCacheEntries < 1) return;
    if (this.cache === NONE) this.cache = new Map();
    this.cache.set(id, { bytes, at: now });
    this.cachedBytes += bytes.length;
  }

  private dropRun(id: number): void {
    this.running.delete(id);
    if (this.running.size === 0) this.running = none();
  }

  private cacheDelete(id: number): void {
    const e = this.cache.get(id);
    if (!e) return;
    this.cache.delete(id);
    this.cachedBytes -= e.bytes.length;
  }

  private shutdown(reason: string, closeEndpoint: boolean): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const d of this.detach) d();
    for (const id of [...this.pending.keys()]) this.settle(id, new RpcError('closed', `rpc closed: ${reason}`));
    for (const r of this.running.values()) {
      r.timer?.cancel();
      r.ac?.abort(new RpcError('closed', `rpc closed: ${reason}`));
    }
    this.running = none();
    this.cache = none();
    this.cachedBytes = 0;
    this.handlers = none();
    if (closeEndpoint) this.endpoint.close(reason);
  }
}

const NO_REMOVERS: readonly (() => void)[] = Object.freeze([]);

/** The empty table every {@link RpcPeer} starts with; never written (each write site swaps in a new Map first). */
const NONE: Map<unknown, unknown> = new Map();
const none = <K, V>(): Map<K, V> => NONE as Map<K, V>;

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return x !== null && (typeof x === 'object' || typeof x === 'function') && typeof (x as { then?: unknown }).then === 'function';
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const CODE = /^[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*$/;
function safeCode(code: string): string {
  return code.length <= 64 && CODE.test(code) ? code : 'internal';
}

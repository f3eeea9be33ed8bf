/**
 * The `--control SOCKET` daemon API's protocol: JSON-RPC 2.0 over a Unix domain socket,
 * one JSON object per line each way (newline-delimited). The socket file is created mode
 * 0600: only its owner (and root) may connect, which is the authentication. The methods
 * themselves are given by the caller (control-methods.ts has the node's).
 *
 * Start-up refuses a path that exists and is not a stale socket (a regular file, a
 * directory, or a socket another process still serves); a stale socket is replaced.
 * `close()` stops listening, drops every connection and removes the socket file.
 *
 * Bounded and hostile-input safe (nothing a client sends can crash the node):
 * - a line longer than `maxLineBytes` (64 KiB) gets an error and the connection closes;
 * - at most `maxConnections` (16) at once: the next get an error line and are closed;
 * - each connection may send `ratePerSec` requests a second (bursts of `burst`) and have
 *   `maxPending` (16) requests running and `maxWaiting` (32) more waiting for a slot:
 *   beyond, the request gets an error (-32001, -32003);
 * - a client that does not read its replies (more than 1 MiB queued) is disconnected;
 * - idle connections (nothing sent or running) close after `idleTimeoutMs` (10 min).
 *
 * Errors (JSON-RPC 2.0): -32700 not JSON, -32600 not a request (or a batch: not
 * supported, or a line too long), -32601 unknown method, -32602 bad params (with the
 * JSON path of the problem), -32000 the method failed (its message), -32001 rate limited,
 * -32002 too many connections, -32003 too many requests in progress. A request without
 * `id` is a notification: it runs, and gets no reply.
 *
 * @example
 * ```ts
 * const server = await ControlServer.listen('/run/tincan.sock', {
 *   echo: { params: compileSchema(Type.Object({ text: Type.String({ maxLength: 64 }) }, { additionalProperties: false })), run: (p) => p },
 * }, { clock, log });
 * // $ printf '{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"hi"}}\n' | nc -U /run/tincan.sock
 * // {"jsonrpc":"2.0","id":1,"result":{"text":"hi"}}
 * await server.close();
 * ```
 * @module
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import process from 'node:process';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Validator } from '../wire/schema.ts';

/** JSON-RPC 2.0 error codes used here. */
export const RpcCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  failed: -32000,
  rateLimited: -32001,
  tooManyConnections: -32002,
  tooManyPending: -32003,
} as const;

/** Thrown by a method to answer with a specific error. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** One method: its params schema (checked before `run`) and what it does. */
export interface ControlMethod<P = unknown> {
  /** Params as an object (omitted params are checked as `{}`). */
  params: Validator<P>;
  run(params: P): unknown;
}

/** Methods by name. */
export type ControlMethods = Record<string, ControlMethod<any>>;

/** Limits and components of a {@link ControlServer}. */
export interface ControlServerOptions {
  clock: Clock;
  log?: Logger;
  /** Longest request line in bytes (default 64 KiB). */
  maxLineBytes?: number;
  /** Most connections at once (default 16). */
  maxConnections?: number;
  /** Requests per second per connection (default 20), bursts up to `burst` (default 40). */
  ratePerSec?: number;
  burst?: number;
  /** Requests running at once per connection (default 16). */
  maxPending?: number;
  /** Requests waiting for one of those slots, per connection (default 32). */
  maxWaiting?: number;
  /** Close a connection idle this long, ms (default 10 min). */
  idleTimeoutMs?: number;
  /** Disconnect a client with more than this many reply bytes queued (default 1 MiB). */
  maxQueuedBytes?: number;
}

type Id = string | number | null;

/** See module docs. */
export class ControlServer {
  private readonly connections = new Set<Socket>();
  private closing: Promise<void> | undefined;

  private constructor(
    /** The socket's path. */
    readonly path: string,
    private readonly server: Server,
    private readonly inode: number,
    private readonly methods: ControlMethods,
    private readonly o: Required<Omit<ControlServerOptions, 'log'>> & { log: Logger | undefined },
  ) {}

  /**
   * Create the socket at `path` (mode 0600) and serve `methods`. Rejects when the path
   * exists and is not a stale socket, or it cannot be bound.
   */
  static async listen(path: string, methods: ControlMethods, options: ControlServerOptions): Promise<ControlServer> {
    const o = {
      maxLineBytes: 64 * 1024,
      maxConnections: 16,
      ratePerSec: 20,
      burst: 40,
      maxPending: 16,
      maxWaiting: 32,
      idleTimeoutMs: 10 * 60_000,
      maxQueuedBytes: 1024 * 1024,
      ...options,
      log: options.log,
    };
    await clearStaleSocket(path);
    let self: ControlServer | undefined;
    const server = createServer((socket) => (self ? self.accept(socket) : socket.destroy()));
    // Created owner-only: no moment when others could connect (chmod follows as well).
    let oldMask: number | undefined;
    try {
      oldMask = process.umask(0o177);
    } catch {
      // umask unsupported here (a worker): chmod below still applies before we serve.
    }
    const listening = new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.once('listening', () => {
        server.off('error', reject);
        resolve();
      });
    });
    try {
      server.listen(path);
    } finally {
      if (oldMask !== undefined) process.umask(oldMask);
    }
    await listening;
    let inode: number;
    try {
      chmodSync(path, 0o600);
      const st = lstatSync(path);
      if ((st.mode & 0o077) !== 0) throw new Error(`${path} has mode ${(st.mode & 0o777).toString(8)}, not 600`);
      inode = st.ino;
    } catch (err) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw err;
    }
    server.on('error', (err) => o.log?.warn({ err: String(err) }, 'control socket error'));
    self = new ControlServer(path, server, inode, methods, o);
    o.log?.info({ control: path }, 'serving the JSON-RPC control API');
    return self;
  }

  /** Connections open now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stop listening, drop every connection, remove the socket file. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const s of this.connections) s.destroy();
      await closed;
      try {
        // Only our own socket (not one a successor created at the same path).
        if (lstatSync(this.path).ino === this.inode) unlinkSync(this.path);
      } catch {
        // already gone
      }
    })();
    return this.closing;
  }

  // --- internals -------------------------------------------------------------------

  private accept(socket: Socket): void {
    socket.on('error', () => {});
    if (this.closing || this.connections.size >= this.o.maxConnections) {
      this.o.log?.debug({ connections: this.connections.size }, 'control: connection refused (too many)');
      socket.write(errorLine(null, RpcCode.tooManyConnections, `too many connections (at most ${this.o.maxConnections})`), () => socket.destroy());
      return;
    }
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    let chunks: Buffer[] = [];
    let buffered = 0;
    let tokens = this.o.burst;
    let refilledAt = this.o.clock.now();
    let pending = 0;
    // Idle: no bytes either way for idleTimeoutMs, and no request running (a call may last an hour).
    socket.setTimeout(this.o.idleTimeoutMs);
    socket.on('timeout', () => (pending === 0 ? socket.destroy() : socket.setTimeout(this.o.idleTimeoutMs)));
    const waiting: string[] = [];
    const send = (line: string) => {
      if (socket.destroyed) return;
      if (socket.writableLength > this.o.maxQueuedBytes) {
        this.o.log?.debug('control: client does not read its replies; disconnected');
        socket.destroy();
        return;
      }
      socket.write(line);
    };
    const onLine = (line: string) => {
      if (line.trim() === '') return;
      const now = this.o.clock.now();
      tokens = Math.min(this.o.burst, tokens + ((now - refilledAt) / 1000) * this.o.ratePerSec);
      refilledAt = now;
      if (tokens < 1) return send(errorLine(requestId(line), RpcCode.rateLimited, `rate limited: at most ${this.o.ratePerSec} requests a second`));
      tokens -= 1;
      if (pending < this.o.maxPending) return run(line);
      if (waiting.length >= this.o.maxWaiting) return send(errorLine(requestId(line), RpcCode.tooManyPending, `too many requests in progress (at most ${this.o.maxPending} running and ${this.o.maxWaiting} waiting)`));
      waiting.push(line);
    };
    const run = (line: string) => {
      pending++;
      const done = (reply: string | undefined) => {
        pending--;
        if (reply !== undefined) send(reply);
        const next = waiting.shift();
        if (next !== undefined && !socket.destroyed) run(next);
      };
      void this.handle(line).then(done, () => done(undefined));
    };
    socket.on('data', (data: Buffer) => {
      let start = 0;
      for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10, start)) {
        const piece = data.subarray(start, nl);
        start = nl + 1;
        if (buffered + piece.length > this.o.maxLineBytes) return this.tooLong(socket);
        const line = Buffer.concat([...chunks, piece]).toString('utf8');
        chunks = [];
        buffered = 0;
        onLine(line);
        if (socket.destroyed) return;
      }
      const rest = data.subarray(start);
      buffered += rest.length;
      if (buffered > this.o.maxLineBytes) return this.tooLong(socket);
      if (rest.length > 0) chunks.push(rest);
    });
  }

  private tooLong(socket: Socket): void {
    this.o.log?.debug('control: line too long; disconnected');
    socket.removeAllListeners('data');
    socket.write(errorLine(null, RpcCode.invalidRequest, `line longer than ${this.o.maxLineBytes} bytes`), () => socket.destroy());
  }

  /** One request line -> its reply line (undefined for a notification). */
  private async handle(line: string): Promise<string | undefined> {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch (err) {
      return errorLine(null, RpcCode.parseError, `parse error: ${(err as Error).message.slice(0, 200)}`);
    }
    if (Array.isArray(msg)) return errorLine(null, RpcCode.invalidRequest, 'batch requests are not supported: send one request per line');
    if (msg === null || typeof msg !== 'object') return errorLine(null, RpcCode.invalidRequest, 'a request must be a JSON object');
    const req = msg as Record<string, unknown>;
    const hasId = 'id' in req;
    const id = req.id;
    if (hasId && !(id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)))) return errorLine(null, RpcCode.invalidRequest, 'id must be a string, a number or null');
    const replyId = (hasId ? id : null) as Id;
    if (req.jsonrpc !== '2.0') return errorLine(replyId, RpcCode.invalidRequest, 'jsonrpc must be "2.0"');
    if (typeof req.method !== 'string') return errorLine(replyId, RpcCode.invalidRequest, 'method must be a string');
    const method = Object.hasOwn(this.methods, req.method) ? this.methods[req.method] : undefined;
    const reply = (r: string) => (hasId ? r : undefined);
    if (!method) return reply(errorLine(replyId, RpcCode.methodNotFound, `unknown method "${req.method.slice(0, 64)}" (methods: ${Object.keys(this.methods).join(', ')})`));
    if (req.params !== undefined && (req.params === null || typeof req.params !== 'object' || Array.isArray(req.params))) {
      return reply(errorLine(replyId, RpcCode.invalidParams, 'params must be an object (named parameters)'));
    }
    const checked = method.params.validate(req.params ?? {});
    if (!checked.ok) return reply(errorLine(replyId, RpcCode.invalidParams, `invalid params: ${checked.error}`));
    try {
      const result = await method.run(checked.value);
      return reply(`${JSON.stringify({ jsonrpc: '2.0', id: replyId, result: result ?? null })}\n`);
    } catch (err) {
      const code = err instanceof RpcError ? err.code : RpcCode.failed;
      this.o.log?.debug({ method: req.method, err: String(err) }, 'control: method failed');
      return reply(errorLine(replyId, code, (err as Error)?.message ?? String(err)));
    }
  }
}

/** A JSON-RPC error reply line. */
function errorLine(id: Id, code: number, message: string): string {
  return `${JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } })}\n`;
}

/** The id of a request line, best effort (for errors sent before it is handled). */
function requestId(line: string): Id {
  try {
    const id = (JSON.parse(line) as { id?: unknown })?.id;
    return typeof id === 'string' || typeof id === 'number' ? id : null;
  } catch {
    return null;
  }
}

/**
 * Make `path` free for a new socket: nothing there is fine; a socket no one serves
 * (connection refused) is removed; anything else is refused with a clear message.
 */
async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket: refusing to replace it`);
  const problem = await new Promise<string | undefined>((resolve) => {
    const c = connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve('another process is serving it');
    });
    c.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? undefined : `cannot tell whether it is stale (${err.code ?? err.message})`));
  });
  if (problem) throw new Error(`${path} is a socket in use: ${problem}`);
  unlinkSync(path);
}

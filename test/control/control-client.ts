/**
 * A test client for the control socket: sends raw bytes or JSON-RPC requests and reads
 * the newline-delimited replies in order; notices when the server closes the connection.
 */
import { connect, type Socket } from 'node:net';

/** A JSON-RPC reply as received. */
export type Reply = { jsonrpc: string; id: string | number | null; result?: any; error?: { code: number; message: string } };

/** See module docs. */
export class ControlClient {
  private buf = '';
  private readonly queue: Reply[] = [];
  private waiters: Array<(r: Reply | undefined) => void> = [];
  private nextId = 1;
  /** Resolves when the server closed (or reset) the connection. */
  readonly closed: Promise<void>;
  isClosed = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      for (let i = this.buf.indexOf('\n'); i >= 0; i = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const r = JSON.parse(line) as Reply;
        const w = this.waiters.shift();
        if (w) w(r);
        else this.queue.push(r);
      }
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        for (const w of this.waiters.splice(0)) w(undefined);
        resolve();
      }),
    );
  }

  /** Connect to the socket at `path` (rejects with the connect error, e.g. EACCES). */
  static connect(path: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(new ControlClient(s)));
      s.once('error', reject);
    });
  }

  /** Write raw text. */
  send(raw: string | Uint8Array): void {
    this.socket.write(raw);
  }

  /** The next reply (undefined when the connection closed first), within `ms`. */
  next(ms = 10_000): Promise<Reply | undefined> {
    const r = this.queue.shift();
    if (r) return Promise.resolve(r);
    if (this.isClosed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply within ${ms} ms`)), ms);
      this.waiters.push((x) => {
        clearTimeout(timer);
        resolve(x);
      });
    });
  }

  /** Send a request and return its reply (replies come in order here: one at a time). */
  async request(method: string, params?: unknown, ms = 10_000): Promise<Reply> {
    const id = this.nextId++;
    this.send(`${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params !== undefined ? { params } : {}) })}\n`);
    const r = await this.next(ms);
    if (!r) throw new Error(`connection closed before the reply to ${method}`);
    if (r.id !== id) throw new Error(`reply id ${r.id} for request ${id}`);
    return r;
  }

  close(): Promise<void> {
    this.socket.end();
    this.socket.destroy();
    return this.closed;
  }
}

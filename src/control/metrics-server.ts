/**
 * The `--metrics HOST:PORT` HTTP endpoint: `GET /metrics` answers with the node's
 * metrics in the Prometheus text format (see metrics.ts); any other path is 404, any
 * other method 405. Bounded: request bodies are never read (a request announcing one is
 * answered 413 and its connection closed), headers must arrive within 5 s and a request
 * complete within 10 s, idle connections close after 5 s, and at most `maxConnections`
 * (default 8) connections are open at once: the next are closed on arrival, and requests
 * beyond that many in flight get 503.
 *
 * @example
 * ```ts
 * const server = await MetricsServer.listen({ host: '127.0.0.1', port: 9464 }, () => metrics.scrape(), { log });
 * // curl http://127.0.0.1:9464/metrics
 * await server.close();
 * ```
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../log.ts';

/** Limits of a {@link MetricsServer}. */
export interface MetricsServerOptions {
  log?: Logger;
  /** Most open connections (default 8). */
  maxConnections?: number;
  /** Headers must arrive within this long, ms (default 5000). */
  headersTimeoutMs?: number;
  /** A whole request within this long, ms (default 10000). */
  requestTimeoutMs?: number;
  /** Idle keep-alive connections close after this long, ms (default 5000). */
  idleTimeoutMs?: number;
  /** Content-Type of the scrape (default Prometheus text 0.0.4). */
  contentType?: string;
}

/** See module docs. */
export class MetricsServer {
  private inFlight = 0;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    /** The address it listens on (the real port when 0 was asked for). */
    readonly address: { host: string; port: number },
    private readonly sockets: Set<Socket>,
  ) {}

  /** Listen on `at` and serve `scrape()`'s text at `/metrics`. Rejects if the address cannot be bound. */
  static async listen(at: { host: string; port: number }, scrape: () => Promise<string>, o: MetricsServerOptions = {}): Promise<MetricsServer> {
    const maxConnections = o.maxConnections ?? 8;
    const contentType = o.contentType ?? 'text/plain; version=0.0.4; charset=utf-8';
    let self: MetricsServer | undefined;
    // The header/request timeouts are enforced by a sweep every second (Node's default: 30 s).
    const server = createServer({ maxHeaderSize: 8192, connectionsCheckingInterval: 1000 }, (req, res) => void self?.handle(req, res, scrape, contentType, maxConnections));
    server.headersTimeout = o.headersTimeoutMs ?? 5000;
    server.requestTimeout = o.requestTimeoutMs ?? 10_000;
    server.keepAliveTimeout = o.idleTimeoutMs ?? 5000;
    server.maxHeadersCount = 50;
    server.setTimeout(o.requestTimeoutMs ?? 10_000, (socket: Socket) => socket.destroy());
    const sockets = new Set<Socket>();
    server.on('connection', (socket: Socket) => {
      if (sockets.size >= maxConnections) {
        socket.destroy();
        return;
      }
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.on('clientError', (_err: Error, socket: Socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => o.log?.warn({ err: String(err) }, 'metrics server error'));
    const bound = server.address();
    const port = bound && typeof bound === 'object' ? bound.port : at.port;
    self = new MetricsServer(server, { host: at.host, port }, sockets);
    o.log?.info({ metrics: `http://${at.host.includes(':') ? `[${at.host}]` : at.host}:${port}/metrics` }, 'serving Prometheus metrics');
    return self;
  }

  /** Stop listening and close every connection. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
      (this.server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    });
    return this.closing;
  }

  private async handle(req: IncomingMessage, res: ServerResponse, scrape: () => Promise<string>, contentType: string, maxInFlight: number): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
    const reply = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (hasBody) {
      // Never read a body: answer and drop the connection with whatever it was sending.
      res.setHeader('Connection', 'close');
      reply(413, 'request bodies are not accepted\n');
      res.on('finish', () => req.socket.destroy());
      return;
    }
    if (path !== '/metrics') return reply(404, 'not found: try /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed: use GET\n', { Allow: 'GET, HEAD' });
    if (this.inFlight >= maxInFlight) return reply(503, 'busy\n', { 'Retry-After': '1' });
    this.inFlight++;
    try {
      const text = await scrape();
      reply(200, text, { 'Content-Type': contentType });
    } catch (err) {
      reply(500, `scrape failed: ${(err as Error).message}\n`);
    } finally {
      this.inFlight--;
    }
  }
}

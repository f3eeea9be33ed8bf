/**
 * A running node's local endpoints, as `tincan node` / `tincan supernode` open them:
 * the JSON-RPC control socket (`--control SOCKET`) and the Prometheus endpoint
 * (`--metrics HOST:PORT`). Either may be absent. Opening fails as a whole (what was
 * opened is closed again); `close()` closes both.
 *
 * @example
 * ```ts
 * const endpoints = await openEndpoints(tincan, { control: '/run/tincan.sock', metrics: { host: '127.0.0.1', port: 9464 }, clock, log });
 * console.log(endpoints.describe()); // ['control API on /run/tincan.sock', 'metrics on http://127.0.0.1:9464/metrics']
 * await endpoints.close();
 * ```
 * @module
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { ControlServer } from './control-server.ts';
import { type ControlMethodsOptions, type ControlTarget, controlMethods } from './control-methods.ts';
import { MetricsServer } from './metrics-server.ts';
import { type MetricsSource, NodeMetrics } from './metrics.ts';

/** What to open. */
export interface EndpointOptions extends ControlMethodsOptions {
  /** Unix socket path of the control API. */
  control?: string;
  /** Address of the metrics HTTP server (port 0: any free port). */
  metrics?: { host: string; port: number };
  clock: Clock;
  log?: Logger;
}

/** The opened endpoints. */
export interface Endpoints {
  control?: ControlServer;
  metrics?: MetricsServer;
  /** One line per endpoint: where it listens. */
  describe(): string[];
  close(): Promise<void>;
}

/** Open the endpoints asked for; see module docs. */
export async function openEndpoints(node: MetricsSource & Partial<ControlTarget>, o: EndpointOptions): Promise<Endpoints> {
  let control: ControlServer | undefined;
  let metrics: MetricsServer | undefined;
  const close = async () => {
    await Promise.all([control?.close(), metrics?.close()]);
  };
  try {
    if (o.metrics) {
      const registry = new NodeMetrics(node);
      metrics = await MetricsServer.listen(o.metrics, () => registry.scrape(), { ...(o.log ? { log: o.log } : {}), contentType: registry.contentType });
    }
    if (o.control) {
      if (!node.snapshot || !node.calls) throw new Error('the control API needs a full node');
      const methods = controlMethods(node as ControlTarget, o.placeCall ? { placeCall: o.placeCall } : {});
      control = await ControlServer.listen(o.control, methods, { clock: o.clock, ...(o.log ? { log: o.log } : {}) });
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    ...(control ? { control } : {}),
    ...(metrics ? { metrics } : {}),
    describe: () => [
      ...(control ? [`control API on ${control.path}`] : []),
      ...(metrics ? [`metrics on http://${metrics.address.host.includes(':') ? `[${metrics.address.host}]` : metrics.address.host}:${metrics.address.port}/metrics`] : []),
    ],
    close,
  };
}

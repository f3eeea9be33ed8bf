/**
 * The terminal UI driven by a running node: {@link LiveApp} re-renders {@link App} from
 * the node's snapshot several times a second and passes the node's actions to the keys;
 * {@link runTerminalUi} renders it on the terminal until the user quits (`q`, Ctrl-C) or
 * the signal aborts.
 *
 * @example
 * ```ts
 * await node.start();
 * await runTerminalUi(node, { clock });
 * await node.close();
 * ```
 * @module
 */
import { useEffect, useMemo, useState } from 'react';
import type { Clock } from '../src/clock.ts';
import type { NodeActions, NodeSnapshot } from '../src/node/snapshot.ts';
import { App } from './app.tsx';

/** What the live view needs from a node (TincanNode has it). */
export interface LiveNode {
  snapshot(): NodeSnapshot;
  actions(): NodeActions;
  on(event: 'quit', handler: () => void): () => void;
}

/** Props of {@link LiveApp}. */
export interface LiveAppProps {
  node: LiveNode;
  clock: Clock;
  /** How often the screen is refreshed from the node, ms (default 250). */
  refreshMs?: number;
}

/** {@link App} fed by a live node. */
export function LiveApp({ node, clock, refreshMs = 250 }: LiveAppProps) {
  const [snapshot, setSnapshot] = useState(() => node.snapshot());
  const [now, setNow] = useState(() => clock.now());
  const actions = useMemo(() => node.actions(), [node]);
  useEffect(() => {
    const timer = clock.setInterval(() => {
      setSnapshot(node.snapshot());
      setNow(clock.now());
    }, refreshMs);
    return () => timer.cancel();
  }, [node, clock, refreshMs]);
  return <App snapshot={snapshot} actions={actions} now={now} />;
}

/** Options of {@link runTerminalUi}. */
export interface TerminalUiOptions {
  clock: Clock;
  signal?: AbortSignal;
}

/** Render the live UI on this process's terminal until the user quits or `signal` aborts. */
export async function runTerminalUi(node: LiveNode, o: TerminalUiOptions): Promise<void> {
  const { render } = await import('ink');
  const app = render(<LiveApp node={node} clock={o.clock} />, { exitOnCtrlC: true });
  let off: (() => void) | undefined;
  await new Promise<void>((resolve) => {
    off = node.on('quit', resolve);
    if (o.signal?.aborted) resolve();
    o.signal?.addEventListener('abort', () => resolve(), { once: true });
    void app.waitUntilExit().then(() => resolve(), () => resolve());
  });
  off?.();
  app.unmount();
}

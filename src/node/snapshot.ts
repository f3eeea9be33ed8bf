/**
 * What views (the terminal UI, the JSON-RPC API, `--json` output) read from a running
 * node, and the actions they may take. Views never reach into components: they render a
 * snapshot and call actions.
 *
 * @module
 */
import type { CallSnapshot } from '../call/call.ts';

/** Media figures of one call, refreshed every second while it is up. */
export interface CallMediaStats {
  /** `direct` or `relay`; `via` names the relaying supernode's address. */
  path: 'direct' | 'relay' | 'none';
  via?: string;
  rttMs?: number;
  jitterMs?: number;
  lossPct?: number;
  bitrateKbps?: number;
  jitterBufferMs?: number;
  concealed?: number;
  mos?: number;
  /** Microphone and speaker levels, dBFS (for VU meters). */
  micDb?: number;
  speakerDb?: number;
}

/** A supernode this node is attached to. */
export interface AttachedSupernode {
  id: string;
  address: string;
  rttMs?: number;
}

/** Everything a view shows. */
export interface NodeSnapshot {
  name?: string;
  id: string;
  fingerprint: string;
  role: 'leaf' | 'supernode' | 'starting';
  /** Why the role last changed (election score, budget, ...). */
  roleReason?: string;
  /** Address the node listens on. */
  listen?: string;
  supernodes: AttachedSupernode[];
  calls: CallSnapshot[];
  media: Record<string, CallMediaStats>;
  /** Recent notable events, newest last (bounded). */
  events: string[];
}

/** What a view may ask the node to do. */
export interface NodeActions {
  call(name: string): void;
  accept(callId: string): void;
  decline(callId: string): void;
  hangup(callId: string): void;
  hold(callId: string): void;
  resume(callId: string): void;
  quit(): void;
}

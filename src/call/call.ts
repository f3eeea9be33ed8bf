/**
 * One call's state as users see it: dialing -> ringing -> active <-> on-hold -> ended,
 * with the reason a call ended. The protocol that drives the transitions lives in
 * {@link CallManager}; this class only enforces legal transitions and tells observers.
 *
 * @module
 */

/** Call states. */
export type CallState = 'dialing' | 'ringing' | 'active' | 'on-hold' | 'ended';

/** Why a call ended. `detail` on the call gives the specifics (e.g. "tampered"). */
export type EndReason = 'hangup' | 'declined' | 'busy' | 'timeout' | 'unreachable' | 'failed';

/** Who started the call. */
export type CallDirection = 'outgoing' | 'incoming';

/** A snapshot for views (TUI, JSON-RPC, `call --json`). */
export interface CallSnapshot {
  callId: string;
  direction: CallDirection;
  /** Remote identity key, hex. */
  remoteKey: string;
  remoteName?: string;
  state: CallState;
  reason?: EndReason;
  detail?: string;
  createdAt: number;
  answeredAt?: number;
  endedAt?: number;
}

/** Fired on every state change. */
export type CallListener = (call: CallSnapshot) => void;

const LEGAL: Record<CallState, CallState[]> = {
  dialing: ['ringing', 'active', 'ended'],
  ringing: ['active', 'ended'],
  active: ['on-hold', 'ended'],
  'on-hold': ['active', 'ended'],
  ended: [],
};

/** A call's state with legal transitions only. */
export class Call {
  private snap: CallSnapshot;
  private listeners: CallListener[] = [];

  constructor(init: { callId: string; direction: CallDirection; remoteKey: string; remoteName?: string; now: number }) {
    this.snap = {
      callId: init.callId,
      direction: init.direction,
      remoteKey: init.remoteKey,
      remoteName: init.remoteName,
      state: init.direction === 'outgoing' ? 'dialing' : 'ringing',
      createdAt: init.now,
    };
  }

  get id(): string {
    return this.snap.callId;
  }
  get direction(): CallDirection {
    return this.snap.direction;
  }
  get state(): CallState {
    return this.snap.state;
  }
  get ended(): boolean {
    return this.snap.state === 'ended';
  }

  /** A copy of the current state. */
  snapshot(): CallSnapshot {
    return { ...this.snap };
  }

  /** Observe state changes; returns an unsubscribe function. */
  onChange(listener: CallListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Move to `state` if legal (returns false otherwise, leaving the call unchanged). */
  transition(state: Exclude<CallState, 'ended'>, now: number): boolean {
    if (!LEGAL[this.snap.state].includes(state)) return false;
    this.snap = { ...this.snap, state, answeredAt: state === 'active' ? (this.snap.answeredAt ?? now) : this.snap.answeredAt };
    this.emit();
    return true;
  }

  /** End the call (idempotent: the first reason wins). */
  end(reason: EndReason, now: number, detail?: string): boolean {
    if (this.snap.state === 'ended') return false;
    this.snap = { ...this.snap, state: 'ended', reason, detail, endedAt: now };
    this.emit();
    return true;
  }

  private emit(): void {
    const s = this.snapshot();
    for (const l of this.listeners) l(s);
  }
}

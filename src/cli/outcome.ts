/**
 * What a command returns, and how that becomes output: human text, or with `--json`
 * exactly one JSON object on stdout. Errors always also go to stderr as one line.
 *
 * @module
 */

/** A successful result: `json` fields for `--json` (`ok: true` is added), `text` for people. */
export interface Success {
  readonly ok: true;
  readonly json: Readonly<Record<string, unknown>>;
  readonly text: string;
}

/** A failed result: exit code (1 unless said otherwise) and a one-line message. */
export interface Failure {
  readonly ok: false;
  readonly error: string;
  readonly exitCode: number;
  /** Extra fields for the `--json` object (besides `ok` and `error`). */
  readonly json?: Readonly<Record<string, unknown>>;
}

/** The result of running a command. */
export type Outcome = Success | Failure;

/** Exit code for success. */
export const EXIT_OK = 0;
/** Exit code when the command ran and failed (or is not available). */
export const EXIT_FAILURE = 1;
/** Exit code for bad usage: unknown flags, missing or bad values. */
export const EXIT_USAGE = 2;

/** A successful outcome. */
export function success(json: Record<string, unknown>, text: string): Success {
  return { ok: true, json, text };
}

/** A failed outcome with a one-line message. */
export function failure(error: string, options: { exitCode?: number; json?: Record<string, unknown> } = {}): Failure {
  const f: Failure = { ok: false, error: oneLine(error), exitCode: options.exitCode ?? EXIT_FAILURE };
  return options.json ? { ...f, json: options.json } : f;
}

/**
 * The outcome of a command whose feature is not built yet: says so, and where it
 * comes from, e.g. `not available yet in this build (calls land with issue #5)`.
 */
export function notAvailable(what: string): Failure {
  return failure(`not available yet in this build (${what})`);
}

/** Collapse whitespace so a message stays on one line. */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

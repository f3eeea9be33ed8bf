/**
 * Small text formatters for the terminal UI.
 * @module
 */

/** `mm:ss` (or `h:mm:ss`) of a duration in ms. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A bar of `width` cells for a level in dBFS (-60 dB empty .. 0 dB full). */
export function levelBar(db: number | undefined, width = 10): string {
  const v = db === undefined || !Number.isFinite(db) ? 0 : Math.min(1, Math.max(0, (db + 60) / 60));
  const full = Math.round(v * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

/** A number with a unit, or a dash when unknown. */
export function figure(v: number | undefined, unit: string, digits = 0): string {
  return v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(digits)}${unit}`;
}

/** The first `n` hex characters of an ID, with an ellipsis. */
export function shortId(id: string, n = 8): string {
  return id.length > n ? `${id.slice(0, n)}…` : id;
}

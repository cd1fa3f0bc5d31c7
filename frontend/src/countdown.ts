// The market session's countdown: time left until `closes_at`, formatted for
// the header ("12:05", "1:02:03", "0:00").

/** Milliseconds left until `closesAt` (never negative); null when there is no (valid) closing time. */
export function remainingMs(closesAt: string | null | undefined, nowMs: number): number | null {
  if (!closesAt) return null;
  const t = Date.parse(closesAt);
  if (Number.isNaN(t)) return null;
  return Math.max(0, t - nowMs);
}

/** "m:ss" under an hour, "h:mm:ss" above; whole seconds rounded up, so it shows 0:00 only at the end. */
export function formatCountdown(ms: number): string {
  const total = Math.ceil(Math.max(0, ms) / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Session length typed by the instructor: null for empty (no automatic close), a number 1..600, or an error. */
export function parseSessionMinutes(text: string): { minutes: number | null } | { error: string } {
  const t = text.trim();
  if (t === '') return { minutes: null };
  if (!/^\d+$/.test(t)) return { error: 'session length must be whole minutes' };
  const n = Number(t);
  if (n < 1 || n > 600) return { error: 'session length must be 1 to 600 minutes' };
  return { minutes: n };
}

// The trade tape of the selected symbol: newest first, each trade once (by
// seq), at most TAPE_ROWS rows.

import type { Trade } from './types';

export const TAPE_ROWS = 30;

/** Newest first, unique by seq, at most TAPE_ROWS. */
export function mergeTape(tape: Trade[], incoming: Trade[]): Trade[] {
  const bySeq = new Map<number, Trade>();
  for (const t of tape) bySeq.set(t.seq, t);
  for (const t of incoming) bySeq.set(t.seq, t);
  return [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, TAPE_ROWS);
}

/**
 * A REST tape replaces what is shown, except trades pushed after that
 * snapshot was taken (a higher seq than any in it).
 */
export function loadTape(tape: Trade[], snapshot: Trade[]): Trade[] {
  const top = snapshot.reduce((m, t) => Math.max(m, t.seq), 0);
  return mergeTape(
    tape.filter((t) => t.seq > top),
    snapshot,
  );
}

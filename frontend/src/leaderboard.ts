// The leaderboard: ranked by equity (highest first; equal equity shares a rank,
// then the lower user id lists first), bots left out unless asked for.

import { compareDecimal } from './money';
import type { LeaderRow } from './types';

export function isBot(row: { role?: string }): boolean {
  return row.role === 'bot';
}

/** Rows ranked by equity, with `rank` set; bots removed unless `includeBots`. */
export function rankLeaderboard(rows: LeaderRow[], includeBots: boolean): LeaderRow[] {
  const kept = rows.filter((r) => includeBots || !isBot(r));
  kept.sort((a, b) => -(compareDecimal(a.equity, b.equity) ?? 0) || a.user_id - b.user_id);
  let rank = 0;
  let previous: string | null = null;
  return kept.map((r, i) => {
    if (previous === null || compareDecimal(r.equity, previous) !== 0) {
      rank = i + 1;
      previous = r.equity;
    }
    return { ...r, rank };
  });
}

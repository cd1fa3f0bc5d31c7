// The instructor's class roster: every user's portfolio from GET /api/portfolios,
// moved on by `portfolio` pushes (instructors receive everyone's) and by
// `leaderboard` pushes (which carry the trade counts). Return % after a push is
// recomputed from the starting equity in integer cents, never with floats.

import { formatUnits, rescale, toCents } from './money';
import type { LeaderRow, Portfolio, Position, RosterPortfolio, User } from './types';

export type Roster = Record<number, RosterPortfolio>;

export function loadRoster(list: RosterPortfolio[]): Roster {
  const roster: Roster = {};
  for (const p of list) roster[p.user_id] = p;
  return roster;
}

/** (equity - start) / start in percent, 2 decimals, rounded half away from zero; null when start is 0. */
export function returnPct(equity: string, startingEquity: string): string | null {
  const e = toCents(equity);
  const s = toCents(startingEquity);
  if (e === null || s === null || s === 0n) return null;
  // percent with 4 extra decimals, then rounded to 2
  const scaled = ((e - s) * 1_000_000n) / s; // units of 10^-4 percent (truncated)
  return formatUnits(rescale(scaled, 4, 2), 2);
}

/** A `portfolio` push applied to the roster; the same object when the user is not in it yet. */
export function applyPortfolio(roster: Roster, p: Portfolio): Roster {
  const cur = roster[p.user_id];
  if (!cur) return roster;
  const ret = returnPct(p.equity, cur.starting_equity);
  return {
    ...roster,
    [p.user_id]: { ...cur, ...p, name: cur.name, role: cur.role, return_pct: ret ?? cur.return_pct },
  };
}

/** Leaderboard rows (REST or push) bring the trade counts and the latest equity of traders. */
export function applyLeaderRows(roster: Roster, rows: LeaderRow[]): Roster {
  let next = roster;
  for (const r of rows) {
    const cur = next[r.user_id];
    if (!cur) continue;
    const merged: RosterPortfolio = {
      ...cur,
      equity: r.equity,
      // against the starting equity (cash + granted shares at reference), as
      // GET /api/portfolios computes it; the row's own figure may be against cash
      return_pct: returnPct(r.equity, cur.starting_equity) ?? r.return_pct,
      realized_pl: r.realized_pl,
      unrealized_pl: r.unrealized_pl,
      cash: r.cash ?? cur.cash,
      trades: r.trades ?? cur.trades,
    };
    if (next === roster) next = { ...roster };
    next[r.user_id] = merged;
  }
  return next;
}

export interface RosterRow {
  user_id: number;
  name: string;
  role: string;
  /** null while user_portfolio has not opened the account yet */
  portfolio: RosterPortfolio | null;
}

export type RosterSort = 'name' | 'equity' | 'return' | 'trades';

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

function cents(text: string | undefined): bigint {
  return toCents(text ?? null) ?? 0n;
}

function pctUnits(text: string | undefined): bigint {
  return rescale(cents(text), 2, 2);
}

/**
 * The rows shown: every trader and bot the user list knows (new ones before
 * their portfolio exists), without the instructor; bots left out when asked.
 * Name order is natural ("Student 2" before "Student 10"); the others are
 * highest first, then by name.
 */
export function rosterRows(users: User[], roster: Roster, opts: { hideBots: boolean; sort: RosterSort }): RosterRow[] {
  const byId = new Map<number, RosterRow>();
  for (const u of users) {
    if (u.role === 'instructor') continue;
    byId.set(u.id, { user_id: u.id, name: u.name, role: u.role, portfolio: roster[u.id] ?? null });
  }
  for (const p of Object.values(roster)) {
    if (p.role === 'instructor' || byId.has(p.user_id)) continue;
    byId.set(p.user_id, { user_id: p.user_id, name: p.name, role: p.role, portfolio: p });
  }
  const rows = [...byId.values()].filter((r) => !(opts.hideBots && r.role === 'bot'));
  const byName = (a: RosterRow, b: RosterRow) => collator.compare(a.name, b.name) || a.user_id - b.user_id;
  const key = (r: RosterRow): bigint | null => {
    const p = r.portfolio;
    if (!p) return null;
    if (opts.sort === 'equity') return cents(p.equity);
    if (opts.sort === 'return') return pctUnits(p.return_pct);
    return BigInt(p.trades ?? 0);
  };
  if (opts.sort === 'name') return rows.sort(byName);
  return rows.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka === null || kb === null) return ka === kb ? byName(a, b) : ka === null ? 1 : -1;
    return ka === kb ? byName(a, b) : kb > ka ? 1 : -1;
  });
}

/** "AAPL 10 · MSFT 5" (no zero positions). */
export function positionsSummary(positions: Position[]): string {
  return positions
    .filter((p) => p.qty !== 0)
    .map((p) => `${p.symbol} ${p.qty}`)
    .join(' · ');
}

/** The roster as leaderboard rows (everyone, bots too), so the instructor's board moves with every push. */
export function rosterLeaderRows(roster: Roster): LeaderRow[] {
  return Object.values(roster)
    .filter((p) => p.role !== 'instructor')
    .map((p) => ({
      user_id: p.user_id,
      name: p.name,
      role: p.role,
      equity: p.equity,
      return_pct: p.return_pct,
      realized_pl: p.realized_pl,
      unrealized_pl: p.unrealized_pl,
      cash: p.cash,
      trades: p.trades,
    }));
}

/** True while a user (not the instructor) has no roster entry yet: user_portfolio has not opened the account. */
export function missingFromRoster(users: User[], roster: Roster): boolean {
  return users.some((u) => u.role !== 'instructor' && !(u.id in roster));
}

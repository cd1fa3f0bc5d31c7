import { describe, expect, it } from 'vitest';
import { rankLeaderboard } from './leaderboard';
import type { LeaderRow } from './types';

function row(user_id: number, equity: string, role = 'trader'): LeaderRow {
  return { user_id, name: `u${user_id}`, role, equity, return_pct: '0', realized_pl: '0', unrealized_pl: '0' };
}

describe('rankLeaderboard', () => {
  const rows = [row(1, '99.50'), row(2, '1000.00'), row(3, '100000.00', 'bot'), row(4, '1000'), row(5, '999.99')];

  it('ranks by equity as decimals (not text), ties share a rank, lower id first', () => {
    const ranked = rankLeaderboard(rows, false);
    expect(ranked.map((r) => [r.user_id, r.rank])).toEqual([
      [2, 1],
      [4, 1],
      [5, 3],
      [1, 4],
    ]);
  });

  it('shows bots only when asked', () => {
    const ranked = rankLeaderboard(rows, true);
    expect(ranked[0]).toMatchObject({ user_id: 3, rank: 1 });
    expect(ranked.map((r) => r.rank)).toEqual([1, 2, 2, 4, 5]);
  });

  it('does not change its input', () => {
    const input = [row(1, '1'), row(2, '2')];
    rankLeaderboard(input, false);
    expect(input.map((r) => r.user_id)).toEqual([1, 2]);
    expect(input[0].rank).toBeUndefined();
  });
});

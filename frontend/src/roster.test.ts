import { describe, expect, it } from 'vitest';
import {
  applyLeaderRows,
  applyPortfolio,
  loadRoster,
  positionsSummary,
  returnPct,
  rosterLeaderRows,
  rosterRows,
} from './roster';
import type { Portfolio, RosterPortfolio, User } from './types';

function entry(user_id: number, name: string, equity: string, extra: Partial<RosterPortfolio> = {}): RosterPortfolio {
  return {
    user_id,
    name,
    role: 'trader',
    cash: equity,
    reserved_cash: '0.00',
    buying_power: equity,
    equity,
    realized_pl: '0.00',
    unrealized_pl: '0.00',
    positions: [],
    trades: 0,
    starting_equity: '1000.00',
    return_pct: '0.00',
    ...extra,
  };
}

describe('returnPct', () => {
  it('computes the return in percent to 2 decimals, rounding half away from zero', () => {
    expect(returnPct('1100.00', '1000.00')).toBe('10.00');
    expect(returnPct('900.00', '1000.00')).toBe('-10.00');
    expect(returnPct('1000.05', '1000.00')).toBe('0.01'); // 0.005 % rounds up
    expect(returnPct('999.95', '1000.00')).toBe('-0.01');
    expect(returnPct('100000.00', '100000.00')).toBe('0.00');
    expect(returnPct('1.00', '3.00')).toBe('-66.67');
    expect(returnPct('5.00', '0.00')).toBeNull();
  });
});

describe('roster', () => {
  const roster = loadRoster([entry(2, 'Ann', '1000.00'), entry(3, 'Bo', '1000.00', { role: 'bot' })]);

  it('applies a portfolio push and recomputes the return from the starting equity', () => {
    const push: Portfolio = {
      user_id: 2,
      cash: '500.00',
      reserved_cash: '0.00',
      buying_power: '500.00',
      equity: '1050.00',
      realized_pl: '0.00',
      unrealized_pl: '50.00',
      positions: [{ symbol: 'AAPL', qty: 10, reserved_qty: 0, avg_cost: '50.0000', last_price: '55.00', market_value: '550.00', unrealized_pl: '50.00' }],
    };
    const next = applyPortfolio(roster, push);
    expect(next[2]).toMatchObject({ name: 'Ann', role: 'trader', cash: '500.00', equity: '1050.00', return_pct: '5.00', trades: 0 });
    expect(next[3]).toBe(roster[3]);
    expect(applyPortfolio(roster, { ...push, user_id: 99 })).toBe(roster);
  });

  it('takes trade counts and equity from leaderboard rows', () => {
    const next = applyLeaderRows(roster, [
      // the row's return_pct is not used: the roster's is against the starting equity
      { user_id: 2, name: 'Ann', equity: '990.00', return_pct: '98.00', realized_pl: '-10.00', unrealized_pl: '0.00', trades: 3, cash: '990.00' },
      { user_id: 42, name: 'Gone', equity: '1', return_pct: '0', realized_pl: '0', unrealized_pl: '0' },
    ]);
    expect(next[2]).toMatchObject({ equity: '990.00', return_pct: '-1.00', trades: 3, cash: '990.00' });
    expect(applyLeaderRows(roster, [])).toBe(roster);
  });

  it('lists users before their portfolio exists, hides bots on request, sorts naturally or by value', () => {
    const users: User[] = [
      { id: 1, name: 'Instructor', role: 'instructor' },
      { id: 2, name: 'Ann', role: 'trader' },
      { id: 3, name: 'Bo', role: 'bot' },
      { id: 10, name: 'Student 10', role: 'trader' },
      { id: 9, name: 'Student 2', role: 'trader' },
    ];
    const r = loadRoster([entry(2, 'Ann', '1000.00'), entry(3, 'Bo', '1200.00', { role: 'bot', trades: 7 }), entry(9, 'Student 2', '1100.00', { trades: 1 })]);
    expect(rosterRows(users, r, { hideBots: false, sort: 'name' }).map((x) => x.name)).toEqual(['Ann', 'Bo', 'Student 2', 'Student 10']);
    expect(rosterRows(users, r, { hideBots: true, sort: 'name' }).map((x) => x.user_id)).toEqual([2, 9, 10]);
    expect(rosterRows(users, r, { hideBots: false, sort: 'equity' }).map((x) => x.user_id)).toEqual([3, 9, 2, 10]);
    expect(rosterRows(users, r, { hideBots: false, sort: 'trades' }).map((x) => x.user_id)).toEqual([3, 9, 2, 10]);
    expect(rosterRows(users, r, { hideBots: false, sort: 'name' })[3].portfolio).toBeNull();
  });

  it('summarises positions and turns the roster into leaderboard rows', () => {
    expect(positionsSummary([
      { symbol: 'AAPL', qty: 10, reserved_qty: 0, avg_cost: '1', last_price: '1', market_value: '10', unrealized_pl: '0' },
      { symbol: 'MSFT', qty: 0, reserved_qty: 0, avg_cost: '1', last_price: '1', market_value: '0', unrealized_pl: '0' },
      { symbol: 'TSLA', qty: 5, reserved_qty: 5, avg_cost: '1', last_price: '1', market_value: '5', unrealized_pl: '0' },
    ])).toBe('AAPL 10 · TSLA 5');
    expect(rosterLeaderRows(roster).map((x) => [x.user_id, x.role, x.equity])).toEqual([
      [2, 'trader', '1000.00'],
      [3, 'bot', '1000.00'],
    ]);
  });
});

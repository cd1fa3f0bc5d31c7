import { describe, expect, it } from 'vitest';
import type { Action } from './actions';
import { dashboardReducer, initialDash, type DashState } from './dashboardState';
import { initialState, reducer } from './state';
import type { BotsState, LedgerEntry, Order, Portfolio, RosterPortfolio } from './types';

const run = (actions: Action[], from: DashState = initialDash) => actions.reduce(dashboardReducer, from);

const entry = (user_id: number, equity = '6000.00'): RosterPortfolio => ({
  user_id,
  name: `Student ${user_id}`,
  role: 'trader',
  cash: '5000.00',
  reserved_cash: '0.00',
  buying_power: '5000.00',
  equity,
  realized_pl: '0.00',
  unrealized_pl: '0.00',
  positions: [],
  trades: 0,
  starting_equity: '6000.00',
  return_pct: '0.00',
});
const order = (id: number, user_id: number, status = 'new', filled_qty = 0): Order =>
  ({ id, user_id, status, filled_qty, updated_at: `2026-01-01T10:00:0${id}Z` }) as Order;
const fill: LedgerEntry = { id: 1, ts: '2026-01-01T10:00:00Z', kind: 'trade', symbol: 'AAPL', qty: 10, amount: '-500.00', ref: 1 };
const bots = { running: true, bots: [] } as unknown as BotsState;

describe('dashboard slice', () => {
  it('loads the roster and moves it on with portfolio and leaderboard pushes', () => {
    let d = run([{ type: 'roster-loaded', list: [entry(2), entry(3)] }]);
    d = dashboardReducer(d, { type: 'portfolio', portfolio: { ...entry(2), equity: '6600.00' } as Portfolio });
    expect(d.roster[2].equity).toBe('6600.00');
    expect(d.roster[2].return_pct).toBe('10.00');
    d = dashboardReducer(d, {
      type: 'leaderboard',
      rows: [{ user_id: 3, name: 'Student 3', equity: '5400.00', return_pct: '-10.00', realized_pl: '0.00', unrealized_pl: '0.00', trades: 4 }],
    });
    expect(d.roster[3]).toMatchObject({ equity: '5400.00', trades: 4, return_pct: '-10.00' });
  });

  it('a push for a user not in the roster changes nothing', () => {
    const d = run([{ type: 'roster-loaded', list: [entry(2)] }]);
    expect(dashboardReducer(d, { type: 'portfolio', portfolio: entry(9) })).toBe(d);
  });

  it("keeps each panel's load error until its next answer; a command's bots answer keeps it", () => {
    let d = run([
      { type: 'load-failed', what: 'roster', message: 'down' },
      { type: 'load-failed', what: 'bots', message: 'no bots' },
    ]);
    expect([d.rosterError, d.botsError, d.scenariosError]).toEqual(['down', 'no bots', null]);
    d = dashboardReducer(d, { type: 'bots-changed', bots });
    expect(d.bots).toBe(bots);
    expect(d.botsError).toBe('no bots');
    d = run([{ type: 'bots-loaded', bots }, { type: 'roster-loaded', list: [] }], d);
    expect([d.rosterError, d.botsError]).toEqual([null, null]);
  });

  it("drills into one trader: only that trader's answers and pushes apply", () => {
    let d = run([
      { type: 'detail-opened', userId: 2 },
      { type: 'detail-loaded', userId: 3, orders: [order(1, 3)], ledger: [fill], error: null },
    ]);
    expect(d.detail).toEqual({ userId: 2, orders: {}, ledger: null, error: null });
    d = dashboardReducer(d, { type: 'detail-loaded', userId: 2, orders: [order(1, 2)], ledger: null, error: 'fills: down' });
    expect(d.detail).toMatchObject({ orders: { 1: order(1, 2) }, ledger: null, error: 'fills: down' });
    d = run(
      [
        { type: 'order', order: order(2, 2) },
        { type: 'order', order: order(3, 7) },
        { type: 'ledger-loaded', userId: 2, ledger: [fill] },
      ],
      d,
    );
    expect(Object.keys(d.detail!.orders)).toEqual(['1', '2']);
    expect(d.detail!.ledger).toEqual([fill]);
    expect(dashboardReducer(d, { type: 'detail-opened', userId: null }).detail).toBeNull();
  });

  it('a reset empties the detail but keeps the trader drilled into', () => {
    const d = run([
      { type: 'detail-opened', userId: 2 },
      { type: 'detail-loaded', userId: 2, orders: [order(1, 2)], ledger: [fill], error: null },
      { type: 'reset' },
    ]);
    expect(d.detail).toEqual({ userId: 2, orders: {}, ledger: null, error: null });
  });

  it('the settings are held once, in the root state, whoever sets them', () => {
    const settings = { commission_per_share: '0.05', max_position: null, max_order_qty: 100 };
    const s = reducer(initialState, { type: 'settings', settings });
    expect(s.settings).toBe(settings);
    expect(s.dash).toBe(initialState.dash);
    expect('settings' in s.dash).toBe(false);
  });
});

describe("a trader's leaderboard drop-down", () => {
  const row = { user_id: 2, name: 'Ann', equity: '1.00', return_pct: '0.00', realized_pl: '0.00', unrealized_pl: '0.00' };
  it('shows "Loading…" when opened, then the rows; a push keeps a load error shown', () => {
    let s = reducer({ ...initialState, leaderboard: [row] }, { type: 'leaderboard-opened' });
    expect(s.leaderboard).toBeNull();
    s = reducer(s, { type: 'leaderboard-failed', message: 'down' });
    s = reducer(s, { type: 'leaderboard', rows: [row] });
    expect(s).toMatchObject({ leaderboard: [row], leaderboardError: 'down' });
    s = reducer(s, { type: 'leaderboard-loaded', rows: [row] });
    expect(s.leaderboardError).toBeNull();
  });
});

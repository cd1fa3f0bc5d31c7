import { describe, expect, it, vi } from 'vitest';
import type { Action } from './actions';
import type { Api, Credentials } from './api';
import { ApiError } from './errors';
import { createLoaders } from './snapshots';

/** A keeper whose api answers with `answers` (a function per method). */
function setup(held: Credentials | null, answers: Partial<Record<keyof Api, (...args: never[]) => Promise<unknown>>>) {
  const actions: Action[] = [];
  const order: string[] = [];
  const api = new Proxy({} as Api, {
    get: (_t, name: string) => (...args: never[]) => {
      order.push(name);
      const fn = answers[name as keyof Api];
      return fn ? fn(...args) : Promise.reject(new Error(`unexpected ${name}`));
    },
  });
  const keeper = { api, credentials: () => held, signInAgain: vi.fn() };
  let pushes = 0;
  const loaders = createLoaders(keeper, (a) => actions.push(a), () => pushes);
  return { loaders, actions, order, keeper, push: () => (pushes += 1) };
}

const trader: Credentials = { token: 't', userId: 2, role: 'trader' };

describe('REST snapshots', () => {
  it('drops a market snapshot that a push overtook', async () => {
    let answer!: (m: unknown) => void;
    const { loaders, actions, push } = setup(null, { market: () => new Promise((r) => (answer = r)) });
    const loading = loaders.market();
    push();
    answer({ status: 'open' });
    await loading;
    expect(actions).toEqual([]);
  });

  it("loads the symbol's trades before its candles (the candles then count every trade in the tape)", async () => {
    const { loaders, actions } = setup(null, {
      book: async () => ({ symbol: 'AAPL', seq: 1, bids: [], asks: [] }),
      trades: async () => [],
      candles: async () => [],
    });
    await loaders.symbol('AAPL');
    const kinds = actions.map((a) => a.type);
    expect(kinds.indexOf('trades')).toBeLessThan(kinds.indexOf('candles'));
    expect(kinds).toContain('book');
    await loaders.symbol('');
    expect(actions).toHaveLength(3);
  });

  it("loads the token's own account; nothing for the instructor or without a token", async () => {
    const answers = {
      portfolio: async () => ({ user_id: 2 }),
      orders: async (status: never) => [{ id: status === 'open' ? 1 : 2, user_id: 2 }],
    };
    const t = setup(trader, answers);
    await t.loaders.account(true);
    expect(t.actions).toMatchObject([{ type: 'portfolio' }, { type: 'orders', userId: 2, replace: true }]);
    for (const held of [null, { ...trader, role: 'instructor' }]) {
      const s = setup(held, answers);
      await s.loaders.account();
      expect(s.order).toEqual([]);
    }
    const anonymous = setup(null, {});
    await anonymous.loaders.settings();
    expect(anonymous.order).toEqual([]);
  });

  it('a refused token while loading the account signs in again', async () => {
    const refused = async () => {
      throw new ApiError(401, 'unauthorized', 'token revoked by a reset');
    };
    const { loaders, keeper } = setup(trader, { portfolio: refused, orders: async () => [] });
    await loaders.account();
    expect(keeper.signInAgain).toHaveBeenCalledOnce();
  });

  it("shows the leaderboard's load error in the drop-down", async () => {
    const { loaders, actions } = setup(trader, { leaderboard: () => Promise.reject(new Error('down')) });
    await loaders.leaderboard();
    expect(actions).toEqual([{ type: 'leaderboard-failed', message: 'down' }]);
  });
});

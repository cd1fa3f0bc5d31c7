// The REST snapshots of the trading screen: each loader fetches one part and
// hands it to the reducer. Everything is first loaded this way; pushes only
// move it on, so a push lost while disconnected costs nothing.

import type { Action } from './actions';
import { ApiError, errorText } from './errors';
import type { SessionKeeper } from './session';
import type { Stock } from './types';

// as many rows as the gateway's `leaderboard` pushes bring a trader (TRADER_LEADERBOARD_ROWS)
const TRADER_BOARD_ROWS = 100;

export interface Loaders {
  stocks(): Promise<Stock[]>;
  users(): Promise<void>;
  market(): Promise<void>;
  /** the symbol's book, tape and candles */
  symbol(symbol: string): Promise<void>;
  /** the logged-in trader's portfolio and orders (`replace`: the orders held are dropped) */
  account(replace?: boolean): Promise<void>;
  settings(): Promise<void>;
  /** the class leaderboard of a trader's drop-down (its error is shown there) */
  leaderboard(): Promise<void>;
}

/**
 * `marketPushes` counts the `market` pushes heard so far: a market snapshot
 * requested before a push and answered after it is older than the push (a
 * halt right after connecting showed "open" again), so it is dropped.
 */
export function createLoaders(
  keeper: Pick<SessionKeeper, 'api' | 'credentials' | 'signInAgain'>,
  dispatch: (action: Action) => void,
  marketPushes: () => number,
): Loaders {
  const { api } = keeper;
  return {
    async stocks() {
      const stocks = await api.stocks();
      dispatch({ type: 'stocks', stocks });
      return stocks;
    },
    async users() {
      dispatch({ type: 'users', users: await api.users() });
    },
    async market() {
      const before = marketPushes();
      const market = await api.market();
      if (before === marketPushes()) dispatch({ type: 'market', market });
    },
    async symbol(symbol) {
      if (!symbol) return;
      const book = api.book(symbol).then((b) => dispatch({ type: 'book', book: b }));
      // trades before candles: the candles then already count every trade in the tape
      const tapeAndCandles = api
        .trades(symbol)
        .then((trades) => dispatch({ type: 'trades', symbol, trades }))
        .then(() => api.candles(symbol))
        .then((candles) => dispatch({ type: 'candles', symbol, candles }));
      await Promise.all([book, tapeAndCandles]);
    },
    async account(replace = false) {
      // The token's own user, not the selected one: during a switch they differ
      // for a moment, and asking for one user's portfolio with the other's token
      // is a 403. The instructor has no trading account.
      const held = keeper.credentials();
      if (!held || held.role === 'instructor') return;
      const userId = held.userId;
      try {
        const [portfolio, open, closed] = await Promise.all([
          api.portfolio(userId),
          api.orders('open', 1000),
          api.orders('closed', 200),
        ]);
        dispatch({ type: 'portfolio', portfolio });
        dispatch({ type: 'orders', userId, orders: [...open, ...closed], replace });
      } catch (exc) {
        if (exc instanceof ApiError && exc.status === 401) keeper.signInAgain();
        else throw exc;
      }
    },
    async settings() {
      if (!keeper.credentials()) return;
      dispatch({ type: 'settings', settings: await api.settings() });
    },
    async leaderboard() {
      try {
        dispatch({ type: 'leaderboard-loaded', rows: await api.leaderboard(false, TRADER_BOARD_ROWS) });
      } catch (exc) {
        dispatch({ type: 'leaderboard-failed', message: errorText(exc) });
      }
    },
  };
}

/** A failed refresh is retried by the next one (reconnect or poll); the connection banner already says when the exchange is unreachable. */
export function ignore(): void {}

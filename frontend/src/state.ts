// The screen's state and the one reducer that applies REST snapshots,
// Socket.IO pushes, the session's steps and the dashboard's data to it. The
// trading screen's fields are kept here; the session and the instructor's
// dashboard are slices with reducers of their own (sessionState.ts,
// dashboardState.ts). Pure: every rule here is unit-tested.

import type { Action, Connection } from './actions';
import { applyBook } from './book';
import { applyTrade, fromApi } from './candles';
import { dashboardReducer, initialDash, type DashState } from './dashboardState';
import { compareDecimal } from './money';
import { applyOrder, applySnapshot, type OrderMap } from './orders';
import { applyPrice } from './portfolio';
import { initialSession, sessionReducer, type SessionState } from './sessionState';
import { loadTape, mergeTape } from './tape';
import type { Book, Candle, LeaderRow, Market, Portfolio, Settings, Stock, Trade, User } from './types';

export type { Action, Connection } from './actions';

export interface Flash {
  dir: 'up' | 'down';
  n: number;
}

export interface State {
  users: User[];
  /** the account whose token we hold (null: anonymous) */
  userId: number | null;
  stocks: Stock[];
  flash: Record<string, Flash>;
  /** newest trade_seq applied per symbol from `price` pushes */
  priceSeq: Record<string, number>;
  market: Market | null;
  portfolio: Portfolio | null;
  orders: OrderMap;
  selected: string;
  book: Book | null;
  tape: Trade[];
  candles: Candle[];
  /** bumped when the candles are replaced wholesale (the chart then resets its data) */
  candlesVersion: number;
  /** the newest trade already counted in the candles */
  candleSeq: number;
  /** after a (re)connect or a reset the next book is taken whatever its seq (seqs restart on reset) */
  bookResync: boolean;
  connection: Connection;
  /** the class's commission and limits (GET /api/settings, `settings` pushes) */
  settings: Settings | null;
  /** the class leaderboard of a trader's drop-down (null: loading) */
  leaderboard: LeaderRow[] | null;
  leaderboardError: string | null;
  session: SessionState;
  dash: DashState;
}

export const initialState: State = {
  users: [],
  userId: null,
  stocks: [],
  flash: {},
  priceSeq: {},
  market: null,
  portfolio: null,
  orders: {},
  selected: '',
  book: null,
  tape: [],
  candles: [],
  candlesVersion: 0,
  candleSeq: 0,
  bookResync: true,
  connection: 'connecting',
  settings: null,
  leaderboard: null,
  leaderboardError: null,
  session: initialSession,
  dash: initialDash,
};

function flashFor(state: State, symbol: string, oldPrice: string | undefined, newPrice: string): Record<string, Flash> {
  if (oldPrice === undefined) return state.flash;
  const c = compareDecimal(newPrice, oldPrice);
  if (!c) return state.flash;
  const prev = state.flash[symbol];
  return { ...state.flash, [symbol]: { dir: c > 0 ? 'up' : 'down', n: (prev?.n ?? 0) + 1 } };
}

/** The selected symbol's book, tape and candles emptied, to be loaded again (the next book is taken whatever its seq). */
function clearedSymbolView(state: State): Partial<State> {
  return { book: null, bookResync: true, tape: [], candles: [], candlesVersion: state.candlesVersion + 1, candleSeq: 0 };
}

/** The one reducer: the trading screen's fields, then the session and dashboard slices. */
export function reducer(state: State, action: Action): State {
  const next = screenReducer(state, action);
  const session = sessionReducer(next.session, action);
  const dash = dashboardReducer(next.dash, action);
  return session === next.session && dash === next.dash ? next : { ...next, session, dash };
}

function screenReducer(state: State, action: Action): State {
  switch (action.type) {
    case 'users':
      return { ...state, users: action.users };

    case 'signed-in': {
      // a token for another account: its portfolio and orders are loaded afresh
      const userId = action.session.user.id;
      if (userId === state.userId) return state;
      return { ...state, userId, portfolio: null, orders: {} };
    }

    case 'stocks': {
      const old = new Map(state.stocks.map((s) => [s.symbol, s]));
      let flash = state.flash;
      for (const s of action.stocks) {
        flash = flashFor({ ...state, flash }, s.symbol, old.get(s.symbol)?.last_price, s.last_price);
      }
      const stocks = [...action.stocks].sort((a, b) => a.symbol.localeCompare(b.symbol));
      const selected =
        state.selected && stocks.some((s) => s.symbol === state.selected) ? state.selected : (stocks[0]?.symbol ?? '');
      // the snapshot is the truth now: pushes after it apply whatever seq they carry
      const next = { ...state, stocks, flash, priceSeq: {} };
      return selected === state.selected ? next : screenReducer(next, { type: 'select', symbol: selected });
    }

    case 'price': {
      const p = action.price;
      const seen = state.priceSeq[p.symbol];
      if (p.trade_seq !== undefined && seen !== undefined && p.trade_seq < seen) return state;
      const idx = state.stocks.findIndex((s) => s.symbol === p.symbol);
      let { stocks, flash } = state;
      if (idx >= 0) {
        const old = stocks[idx];
        flash = flashFor(state, p.symbol, old.last_price, p.last_price);
        stocks = stocks.slice();
        stocks[idx] = {
          ...old,
          last_price: p.last_price,
          open: p.open,
          high: p.high,
          low: p.low,
          volume: p.volume,
          change_pct: p.change_pct,
        };
      }
      const priceSeq =
        p.trade_seq !== undefined ? { ...state.priceSeq, [p.symbol]: p.trade_seq } : state.priceSeq;
      const portfolio = state.portfolio ? applyPrice(state.portfolio, p.symbol, p.last_price) : null;
      return { ...state, stocks, flash, priceSeq, portfolio };
    }

    case 'market':
      return { ...state, market: { ...state.market, ...action.market } };

    case 'portfolio': {
      if (action.portfolio.user_id !== state.userId) return state;
      // user_portfolio values positions at the last price it has heard of, which
      // can lag the `price` push already shown in the market watch: value them at
      // the screen's last prices, so the portfolio and the watch agree
      let portfolio = action.portfolio;
      for (const s of state.stocks) portfolio = applyPrice(portfolio, s.symbol, s.last_price);
      return { ...state, portfolio };
    }

    case 'orders':
      if (action.userId !== state.userId) return state;
      return { ...state, orders: applySnapshot(action.replace ? {} : state.orders, action.orders) };

    case 'order': {
      if (action.order.user_id !== state.userId) return state;
      const orders = applyOrder(state.orders, action.order);
      return orders === state.orders ? state : { ...state, orders };
    }

    case 'select':
      if (action.symbol === state.selected) return state;
      return { ...state, ...clearedSymbolView(state), selected: action.symbol };

    case 'book': {
      if (state.bookResync && action.book.symbol === state.selected) {
        return { ...state, book: action.book, bookResync: false };
      }
      const book = applyBook(state.book, action.book, state.selected);
      return book === state.book ? state : { ...state, book };
    }

    case 'trades':
      if (action.symbol !== state.selected) return state;
      return { ...state, tape: loadTape(state.tape, action.trades) };

    case 'trade': {
      const t = action.trade;
      if (t.symbol !== state.selected) return state;
      const tape = mergeTape(state.tape, [t]);
      if (t.seq <= state.candleSeq) return { ...state, tape };
      return { ...state, tape, candles: applyTrade(state.candles, t), candleSeq: t.seq };
    }

    case 'candles':
      if (action.symbol !== state.selected) return state;
      return {
        ...state,
        candles: action.candles.map(fromApi).sort((a, b) => a.time - b.time),
        candlesVersion: state.candlesVersion + 1,
        candleSeq: Math.max(state.candleSeq, state.tape[0]?.seq ?? 0),
      };

    case 'connection':
      if (action.connection === state.connection) return state;
      return {
        ...state,
        connection: action.connection,
        bookResync: action.connection === 'connected' ? true : state.bookResync,
      };

    case 'settings':
      return { ...state, settings: action.settings };

    case 'leaderboard-opened':
      return { ...state, leaderboard: null, leaderboardError: null };

    case 'leaderboard-loaded':
      return { ...state, leaderboard: action.rows, leaderboardError: null };

    case 'leaderboard':
      return { ...state, leaderboard: action.rows };

    case 'leaderboard-failed':
      return { ...state, leaderboardError: action.message };

    case 'reset':
      // a new simulation epoch: every sequence starts again; refetch fills it all back
      return { ...state, ...clearedSymbolView(state), orders: {}, portfolio: null, flash: {}, priceSeq: {} };

    default:
      return state;
  }
}

// The screen's state and the one reducer that applies REST snapshots and
// Socket.IO pushes to it. Pure: every rule here is unit-tested.

import { applyBook } from './book';
import { applyTrade, fromApi } from './candles';
import { compareDecimal } from './money';
import { applyOrder, applySnapshot, type OrderMap } from './orders';
import { applyPrice } from './portfolio';
import type { ApiCandle, Book, Candle, Market, Order, Portfolio, PricePush, Settings, Stock, Trade, User } from './types';

export const TAPE_ROWS = 30;

export type Connection = 'connecting' | 'connected' | 'disconnected';

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
};

export type Action =
  | { type: 'users'; users: User[] }
  | { type: 'account'; userId: number | null }
  | { type: 'stocks'; stocks: Stock[] }
  | { type: 'price'; price: PricePush }
  | { type: 'market'; market: Market }
  | { type: 'portfolio'; portfolio: Portfolio }
  /** `replace`: the snapshot is the whole truth (after a reset, ids may come back) */
  | { type: 'orders'; userId: number; orders: Order[]; replace?: boolean }
  | { type: 'order'; order: Order }
  | { type: 'select'; symbol: string }
  | { type: 'book'; book: Book }
  | { type: 'trades'; symbol: string; trades: Trade[] }
  | { type: 'trade'; trade: Trade }
  | { type: 'candles'; symbol: string; candles: ApiCandle[] }
  | { type: 'connection'; connection: Connection }
  | { type: 'settings'; settings: Settings }
  | { type: 'reset' };

function flashFor(state: State, symbol: string, oldPrice: string | undefined, newPrice: string): Record<string, Flash> {
  if (oldPrice === undefined) return state.flash;
  const c = compareDecimal(newPrice, oldPrice);
  if (!c) return state.flash;
  const prev = state.flash[symbol];
  return { ...state.flash, [symbol]: { dir: c > 0 ? 'up' : 'down', n: (prev?.n ?? 0) + 1 } };
}

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

export function reducer(state: State, action: Action): State {
  switch (action.type) {
    case 'users':
      return { ...state, users: action.users };

    case 'account':
      if (action.userId === state.userId) return state;
      return { ...state, userId: action.userId, portfolio: null, orders: {} };

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
      return selected === state.selected ? next : reducer(next, { type: 'select', symbol: selected });
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
      return {
        ...state,
        selected: action.symbol,
        book: null,
        bookResync: true,
        tape: [],
        candles: [],
        candlesVersion: state.candlesVersion + 1,
        candleSeq: 0,
      };

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

    case 'reset':
      // a new simulation epoch: every sequence starts again; refetch fills it all back
      return {
        ...state,
        orders: {},
        portfolio: null,
        flash: {},
        priceSeq: {},
        book: null,
        bookResync: true,
        tape: [],
        candles: [],
        candlesVersion: state.candlesVersion + 1,
        candleSeq: 0,
      };
  }
}

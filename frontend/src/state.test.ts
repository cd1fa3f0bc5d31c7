import { describe, expect, it } from 'vitest';
import { initialState, reducer, type Action, type State } from './state';
import { loadTape, mergeTape } from './tape';
import type { Order, Portfolio, Stock, Trade } from './types';

const stock = (symbol: string, last: string): Stock => ({
  symbol,
  name: symbol,
  reference_price: last,
  last_price: last,
  open: null,
  high: null,
  low: null,
  change_pct: '0.00',
  volume: 0,
});

const portfolio: Portfolio = {
  user_id: 2,
  cash: '98105.00',
  reserved_cash: '0.00',
  buying_power: '98105.00',
  equity: '195450.00',
  realized_pl: '0.00',
  unrealized_pl: '-50.00',
  positions: [
    { symbol: 'AAPL', qty: 110, reserved_qty: 0, avg_cost: '189.9545', last_price: '189.50', market_value: '20845.00', unrealized_pl: '-50.00' },
    { symbol: 'MSFT', qty: 50, reserved_qty: 0, avg_cost: '420.0000', last_price: '420.00', market_value: '21000.00', unrealized_pl: '0.00' },
    { symbol: 'AMZN', qty: 100, reserved_qty: 0, avg_cost: '185.0000', last_price: '185.00', market_value: '18500.00', unrealized_pl: '0.00' },
    { symbol: 'GOOG', qty: 100, reserved_qty: 0, avg_cost: '170.0000', last_price: '170.00', market_value: '17000.00', unrealized_pl: '0.00' },
    { symbol: 'TSLA', qty: 80, reserved_qty: 0, avg_cost: '250.0000', last_price: '250.00', market_value: '20000.00', unrealized_pl: '0.00' },
  ],
};

const signedIn = (id: number): Action => ({ type: 'signed-in', session: { token: `t${id}`, user: { id, name: `u${id}`, role: 'trader' } } });
const run = (actions: Action[], from: State = initialState) => actions.reduce(reducer, from);
const trade = (seq: number, price: string, qty = 1, symbol = 'AAPL'): Trade => ({
  seq,
  symbol,
  price,
  qty,
  ts: `2026-11-22T05:37:${String(10 + seq).padStart(2, '0')}Z`,
});

describe('reducer', () => {
  it('selects the first symbol when the stocks arrive', () => {
    const s = run([{ type: 'stocks', stocks: [stock('MSFT', '420.00'), stock('AAPL', '189.50')] }]);
    expect(s.stocks.map((x) => x.symbol)).toEqual(['AAPL', 'MSFT']);
    expect(s.selected).toBe('AAPL');
  });

  it('applies price pushes, flashes the row and ignores an older trade_seq', () => {
    let s = run([{ type: 'stocks', stocks: [stock('AAPL', '189.50')] }]);
    s = reducer(s, { type: 'price', price: { symbol: 'AAPL', last_price: '190.00', open: '189.50', high: '190.00', low: '189.50', volume: 20, change_pct: '0.00', trade_seq: 5 } });
    expect(s.stocks[0].last_price).toBe('190.00');
    expect(s.flash.AAPL).toEqual({ dir: 'up', n: 1 });
    s = reducer(s, { type: 'price', price: { symbol: 'AAPL', last_price: '180.00', open: '189.50', high: '190.00', low: '180.00', volume: 30, change_pct: '0.00', trade_seq: 4 } });
    expect(s.stocks[0].last_price).toBe('190.00');
    s = reducer(s, { type: 'price', price: { symbol: 'AAPL', last_price: '189.00', open: '189.50', high: '190.00', low: '189.00', volume: 40, change_pct: '0.00', trade_seq: 6 } });
    expect(s.flash.AAPL).toEqual({ dir: 'down', n: 2 });
  });

  it('revalues positions from price pushes in integer cents', () => {
    let s = run([
      signedIn(2),
      { type: 'portfolio', portfolio },
    ]);
    s = reducer(s, { type: 'price', price: { symbol: 'AAPL', last_price: '190.10', open: null, high: null, low: null, volume: 0, change_pct: '0.00' } });
    const aapl = s.portfolio!.positions[0];
    expect(aapl.market_value).toBe('20911.00'); // 110 x 190.10
    expect(aapl.unrealized_pl).toBe('16.01'); // 110 x (190.10 - 189.9545) = 16.005
    expect(s.portfolio!.equity).toBe('195516.00');
    expect(s.portfolio!.unrealized_pl).toBe('16.01');
  });

  it("values a portfolio push at the screen's last prices (user_portfolio's can lag)", () => {
    const s = run([
      signedIn(2),
      { type: 'stocks', stocks: [stock('AAPL', '190.10'), stock('MSFT', '420.00')] },
      { type: 'portfolio', portfolio },
    ]);
    const aapl = s.portfolio!.positions[0];
    expect(aapl.last_price).toBe('190.10');
    expect(aapl.market_value).toBe('20911.00');
    expect(s.portfolio!.equity).toBe('195516.00');
    expect(s.portfolio!.positions[1]).toBe(portfolio.positions[1]); // MSFT: same price, untouched
  });

  it("ignores another account's portfolio, orders and order pushes", () => {
    const o = { id: 9, user_id: 3, status: 'new' } as Order;
    const s = run([
      signedIn(2),
      { type: 'portfolio', portfolio: { ...portfolio, user_id: 3 } },
      { type: 'orders', userId: 3, orders: [o] },
      { type: 'order', order: o },
    ]);
    expect(s.portfolio).toBeNull();
    expect(s.orders).toEqual({});
  });

  it('a replacing snapshot drops held orders (after a reset, order ids start again)', () => {
    const old = { id: 5, user_id: 2, status: 'filled', filled_qty: 10, updated_at: '2026-01-01T10:00:00Z' } as Order;
    const fresh = { id: 1, user_id: 2, status: 'new', filled_qty: 0, updated_at: '2026-01-01T11:00:00Z' } as Order;
    let s = run([
      signedIn(2),
      { type: 'orders', userId: 2, orders: [old] },
    ]);
    // a merging snapshot keeps a held order newer than everything in it
    expect(Object.keys(reducer(s, { type: 'orders', userId: 2, orders: [fresh] }).orders)).toEqual(['1', '5']);
    s = reducer(s, { type: 'orders', userId: 2, orders: [fresh], replace: true });
    expect(s.orders).toEqual({ 1: fresh });
  });

  it('keeps the tape newest first, unique, and folds each trade into the candles once', () => {
    let s = run([
      { type: 'stocks', stocks: [stock('AAPL', '189.50')] },
      { type: 'trades', symbol: 'AAPL', trades: [trade(2, '189.50', 10), trade(1, '189.00', 5)] },
      { type: 'candles', symbol: 'AAPL', candles: [{ time: '2026-11-22T05:37:00Z', open: '189.00', high: '189.50', low: '189.00', close: '189.50', volume: 15 }] },
    ]);
    expect(s.candleSeq).toBe(2);
    s = reducer(s, { type: 'trade', trade: trade(2, '189.50', 10) }); // already counted
    expect(s.candles[0].volume).toBe(15);
    s = reducer(s, { type: 'trade', trade: trade(3, '190.00', 1) });
    s = reducer(s, { type: 'trade', trade: trade(4, '190.00', 1, 'MSFT') }); // other symbol
    expect(s.tape.map((t) => t.seq)).toEqual([3, 2, 1]);
    expect(s.candles[0]).toMatchObject({ high: '190.00', close: '190.00', volume: 16 });
  });

  it('clears the symbol view on select and ignores late answers for the old symbol', () => {
    let s = run([{ type: 'stocks', stocks: [stock('AAPL', '1.00'), stock('MSFT', '2.00')] }]);
    s = reducer(s, { type: 'select', symbol: 'MSFT' });
    s = reducer(s, { type: 'trades', symbol: 'AAPL', trades: [trade(1, '1.00')] });
    s = reducer(s, { type: 'book', book: { symbol: 'AAPL', seq: 1, bids: [], asks: [] } });
    expect(s.tape).toEqual([]);
    expect(s.book).toBeNull();
  });

  it('mergeTape keeps at most 30 rows', () => {
    const many = Array.from({ length: 40 }, (_, i) => trade(i + 1, '1.00'));
    const tape = mergeTape([], many);
    expect(tape).toHaveLength(30);
    expect(tape[0].seq).toBe(40);
  });

  it('a REST tape replaces the shown one but keeps trades pushed after the snapshot', () => {
    const shown = [trade(9, '1.00'), trade(8, '1.00'), trade(3, '1.00')];
    expect(loadTape(shown, [trade(8, '1.00'), trade(7, '1.00')]).map((t) => t.seq)).toEqual([9, 8, 7]);
  });

  it('takes the first book after a (re)connect whatever its seq, then orders by seq again', () => {
    let s = run([
      { type: 'stocks', stocks: [stock('AAPL', '1.00')] },
      { type: 'book', book: { symbol: 'AAPL', seq: 50, bids: [], asks: [] } },
    ]);
    s = reducer(s, { type: 'book', book: { symbol: 'AAPL', seq: 40, bids: [], asks: [] } });
    expect(s.book?.seq).toBe(50);
    // disconnected while the simulation was reset: seqs started again
    s = reducer(s, { type: 'connection', connection: 'disconnected' });
    s = reducer(s, { type: 'connection', connection: 'connected' });
    s = reducer(s, { type: 'book', book: { symbol: 'AAPL', seq: 3, bids: [], asks: [] } });
    expect(s.book?.seq).toBe(3);
    s = reducer(s, { type: 'book', book: { symbol: 'AAPL', seq: 2, bids: [], asks: [] } });
    expect(s.book?.seq).toBe(3);
  });

  it('a reset clears the account and symbol views', () => {
    let s = run([
      signedIn(2),
      { type: 'portfolio', portfolio },
      { type: 'stocks', stocks: [stock('AAPL', '1.00')] },
      { type: 'trades', symbol: 'AAPL', trades: [trade(5, '1.00')] },
      { type: 'order', order: { id: 1, user_id: 2, status: 'new', updated_at: '2026-11-22T05:00:00Z' } as Order },
    ]);
    s = reducer(s, { type: 'reset' });
    expect(s.portfolio).toBeNull();
    expect(s.orders).toEqual({});
    expect(s.tape).toEqual([]);
    expect(s.userId).toBe(2);
  });
});

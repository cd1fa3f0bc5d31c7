// What the Socket.IO feed means for the reducer: each push the screen shows
// becomes one action. Pushes that only trigger a reload (`stock`, `user`, ...)
// map to no action; the hooks that reload hear them as events.

import type { Action } from './actions';
import type { Book, LeaderRow, Market, Order, OrderDetail, Portfolio, PricePush, Settings, Trade } from './types';

/** A push (or the synthetic `connect` on each (re)connect), for the hooks that react to it. */
export type FeedListener = (event: string, data: unknown) => void;

/** An order without its status history (GET /api/orders/{id} and some pushes carry one). */
export function stripDetail(o: OrderDetail | Order): Order {
  const { history: _history, ...order } = o as OrderDetail;
  void _history;
  return order;
}

/** The reducer's action for a push; null for a push the reducer does not hold. */
export function pushAction(event: string, data: unknown): Action | null {
  switch (event) {
    case 'price':
      return { type: 'price', price: data as PricePush };
    case 'trade':
      return { type: 'trade', trade: data as Trade };
    case 'book':
      return { type: 'book', book: data as Book };
    case 'market':
      return { type: 'market', market: data as Market };
    case 'order':
      return { type: 'order', order: stripDetail(data as Order) };
    case 'portfolio':
      return { type: 'portfolio', portfolio: data as Portfolio };
    case 'settings':
      return { type: 'settings', settings: data as Settings };
    case 'leaderboard':
      return Array.isArray(data) ? { type: 'leaderboard', rows: data as LeaderRow[] } : null;
    case 'reset':
      return { type: 'reset' };
    default:
      return null;
  }
}

/**
 * Runs `fn` once, `delayMs` after the first of a burst of calls with the same
 * key (creating 500 traders in bulk pushes 500 `user` messages: one reload is
 * enough). `cancel` drops what is still waiting.
 */
export function coalescer(delayMs: number) {
  const waiting = new Map<string, number>();
  return {
    soon(key: string, fn: () => void): void {
      if (waiting.has(key)) return;
      waiting.set(
        key,
        setTimeout(() => {
          waiting.delete(key);
          fn();
        }, delayMs),
      );
    },
    cancel(): void {
      for (const t of waiting.values()) clearTimeout(t);
      waiting.clear();
    },
  };
}

/**
 * After a reset, look again this long after it: each service resets on its
 * own event, so one that has not yet done so still answers with the old
 * state (old orders) for a moment.
 */
export const RESET_RELOADS_MS = [1500, 4000];

/** Without the socket the screens refresh themselves over REST this often. */
export const POLL_MS = 4000;

// The order ticket's rules: input checks before sending, the estimate in
// integer cents, and the buying-power / free-shares warning.

import { formatCents, rescale, toCents, toUnits, toUnitsExact } from './money';
import type { OrderRequest, OrderType, Side, TimeInForce } from './types';

export const MAX_QTY = 1_000_000;
export const MAX_PRICE_CENTS = 100_000_000n; // 1,000,000.00
/** A market buy is reserved at a collar this many percent above the last price. */
export const MARKET_COLLAR_PCT = 5n;
/** commission per share is read with this many decimals */
const COMMISSION_SCALE = 4;

export interface TicketInput {
  symbol: string;
  side: Side;
  type: OrderType;
  qty: string;
  price: string;
  /** stop and stop_limit orders: the trade price that triggers them */
  stopPrice?: string;
  tif: TimeInForce;
}

/** The order types that wait for a trade at their stop price. */
export const STOP_TYPES: OrderType[] = ['stop', 'stop_limit'];
/** The order types with a limit price. */
export const LIMIT_TYPES: OrderType[] = ['limit', 'stop_limit'];

export interface TicketContext {
  /** last (or reference) price of the ticket's symbol */
  lastPrice?: string | null;
  /** the account's buying power, when logged in */
  buyingPower?: string | null;
  /** shares of the symbol not reserved by open sell orders */
  freeShares?: number | null;
  /** shares of the symbol held (for the max-position rule) */
  position?: number | null;
  /** the instructor's settings (GET /api/settings), when known */
  commissionPerShare?: string | null;
  maxOrderQty?: number | null;
  maxPosition?: number | null;
}

export interface FieldError {
  field: 'symbol' | 'qty' | 'limit_price' | 'stop_price' | 'time_in_force';
  message: string;
}

export interface TicketCheck {
  errors: FieldError[];
  /** qty x price in cents (limit price, stop price for a stop, or the last price for a market order) */
  estimateCents: bigint | null;
  /** qty x the commission per share, in cents (null: none or unknown) */
  commissionCents: bigint | null;
  /** a non-blocking warning: not enough buying power or free shares, or a limit of the class's settings */
  warning: string | null;
  /** what a stop will do, in words (null for other orders) */
  explain: string | null;
  /** the request body when there are no errors */
  body: OrderRequest | null;
}

/** Whole shares 1..1,000,000, or an error message. */
export function parseQty(text: string): { qty: number } | { error: string } {
  const t = text.trim();
  if (t === '') return { error: 'Enter a quantity' };
  if (!/^\d+$/.test(t)) return { error: 'Quantity must be a whole number of shares' };
  const qty = Number(t);
  if (qty < 1 || qty > MAX_QTY) return { error: 'Quantity must be between 1 and 1,000,000' };
  return { qty };
}

/** A limit price in cents: > 0, at most 1,000,000, on the 0.01 tick; or an error message. */
export function parsePrice(text: string, what = 'a limit price'): { cents: bigint } | { error: string } {
  const t = text.trim();
  if (t === '') return { error: `Enter ${what}` };
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(t)) return { error: 'Price must be a positive decimal number' };
  const cents = toUnitsExact(t, 2);
  if (cents === null) return { error: 'Price must be on the 0.01 tick' };
  if (cents <= 0n) return { error: 'Price must be greater than 0' };
  if (cents > MAX_PRICE_CENTS) return { error: 'Price must be at most 1,000,000' };
  return { cents };
}

export function checkTicket(input: TicketInput, ctx: TicketContext = {}): TicketCheck {
  const errors: FieldError[] = [];
  if (!input.symbol) errors.push({ field: 'symbol', message: 'Choose a symbol' });

  const q = parseQty(input.qty);
  const qty = 'qty' in q ? q.qty : null;
  if ('error' in q) errors.push({ field: 'qty', message: q.error });

  const isStop = STOP_TYPES.includes(input.type);
  let stopCents: bigint | null = null;
  if (isStop) {
    const s = parsePrice(input.stopPrice ?? '', 'a stop price');
    if ('error' in s) errors.push({ field: 'stop_price', message: s.error });
    else stopCents = s.cents;
    if (input.tif === 'ioc' || input.tif === 'fok') {
      errors.push({ field: 'time_in_force', message: 'A stop order is DAY or GTC' });
    }
  }
  let priceCents: bigint | null = null;
  if (LIMIT_TYPES.includes(input.type)) {
    const p = parsePrice(input.price);
    if ('error' in p) errors.push({ field: 'limit_price', message: p.error });
    else priceCents = p.cents;
  } else {
    priceCents = stopCents ?? toCents(ctx.lastPrice ?? null);
  }
  if (input.type === 'stop_limit' && priceCents !== null && stopCents !== null) {
    if (input.side === 'buy' ? priceCents < stopCents : priceCents > stopCents) {
      errors.push({
        field: 'limit_price',
        message: `A stop-limit ${input.side}'s limit may not be ${input.side === 'buy' ? 'below' : 'above'} its stop price`,
      });
    }
  }

  const estimateCents = qty !== null && priceCents !== null ? BigInt(qty) * priceCents : null;
  const perShare = toUnits(ctx.commissionPerShare ?? null, COMMISSION_SCALE);
  const commissionCents =
    qty !== null && perShare !== null && perShare > 0n ? rescale(BigInt(qty) * perShare, COMMISSION_SCALE, 2) : null;
  // a buy reserves the commission too
  const needCents = estimateCents !== null ? estimateCents + (commissionCents ?? 0n) : null;

  let warning: string | null = null;
  if (qty !== null && ctx.maxOrderQty != null && qty > ctx.maxOrderQty) {
    warning = `Orders are limited to ${ctx.maxOrderQty} shares (max order size)`;
  } else if (qty !== null && input.side === 'buy' && ctx.maxPosition != null && (ctx.position ?? 0) + qty > ctx.maxPosition) {
    warning = `Positions are limited to ${ctx.maxPosition} shares (max position); you hold ${ctx.position ?? 0}`;
  } else if (qty !== null) {
    if (input.side === 'buy' && needCents !== null && ctx.buyingPower != null) {
      const bp = toCents(ctx.buyingPower);
      if (bp !== null) {
        if (needCents > bp) {
          warning = `Not enough buying power: $${formatCents(needCents)} needed, $${formatCents(bp)} available`;
        } else if (input.type === 'market' || input.type === 'stop') {
          const reserve = ceilDiv(needCents * (100n + MARKET_COLLAR_PCT), 100n);
          if (reserve > bp) {
            const from = input.type === 'stop' ? 'its stop price' : 'the last price';
            warning = `A ${input.type} buy reserves up to ${MARKET_COLLAR_PCT}% above ${from} ($${formatCents(reserve)}); buying power is $${formatCents(bp)}`;
          }
        }
      }
    } else if (input.side === 'sell' && ctx.freeShares != null && qty > ctx.freeShares) {
      warning = `Not enough shares: selling ${qty}, ${ctx.freeShares} free`;
    }
  }

  const body: OrderRequest | null =
    errors.length === 0 && qty !== null
      ? {
          symbol: input.symbol,
          side: input.side,
          type: input.type,
          qty,
          time_in_force: input.tif,
          ...(LIMIT_TYPES.includes(input.type) && priceCents !== null ? { limit_price: formatCents(priceCents) } : {}),
          ...(isStop && stopCents !== null ? { stop_price: formatCents(stopCents) } : {}),
        }
      : null;

  const explain = isStop && stopCents !== null && qty !== null ? explainStop(input, qty, stopCents, priceCents) : null;
  return { errors, estimateCents, commissionCents, warning, explain, body };
}

/** What a stop will do once placed, in a trader's words. */
export function explainStop(input: TicketInput, qty: number, stopCents: bigint, limitCents: bigint | null): string {
  const reach = input.side === 'buy' ? 'at or above' : 'at or below';
  const then =
    input.type === 'stop_limit' && limitCents !== null
      ? `a limit order to ${input.side} at ${formatCents(limitCents)}`
      : `a market order to ${input.side}`;
  const purpose =
    input.side === 'sell' ? 'A stop-loss: it sells if the price falls that far.' : 'It buys if the price rises that far.';
  const lasts = input.tif === 'gtc' ? 'until canceled' : 'until the close';
  return `Waits, out of the book, until a trade in ${input.symbol} prints ${reach} ${formatCents(stopCents)}; then it becomes ${then} for ${qty}. ${purpose} Good ${lasts}.`;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** A client_order_id (at most 48 characters) that makes a retried POST idempotent. */
export function newClientOrderId(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return 'web-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

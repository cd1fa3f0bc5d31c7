// What the price chart draws of the trader's own orders: a line at each open
// order's limit and at each waiting stop's trigger, and a marker at each fill.

import { isOpen, isoMicros } from './orders';
import type { Order, Side } from './types';

export interface OrderLine {
  orderId: number;
  kind: 'limit' | 'stop';
  side: Side;
  price: string;
  qty: number;
  /** the label drawn on the price scale */
  title: string;
}

export interface FillMarker {
  orderId: number;
  side: Side;
  /** the candle (minute) of the order's latest fill, seconds since the epoch */
  time: number;
  qty: number;
  price: string;
  text: string;
}

/** Lines for the symbol's open orders: their limit, and their stop price while it waits. */
export function orderLines(orders: Order[], symbol: string): OrderLine[] {
  const out: OrderLine[] = [];
  for (const o of orders) {
    if (o.symbol !== symbol || !isOpen(o.status)) continue;
    const left = o.qty - o.filled_qty;
    if (o.stop_price != null && o.triggered === false) {
      out.push({ orderId: o.id, kind: 'stop', side: o.side, price: o.stop_price, qty: left, title: `stop ${o.side} ${left}` });
    }
    if (o.limit_price != null && (o.type === 'limit' || o.type === 'stop_limit')) {
      out.push({ orderId: o.id, kind: 'limit', side: o.side, price: o.limit_price, qty: left, title: `${o.side} ${left}` });
    }
  }
  return out.sort((a, b) => Number(b.price) - Number(a.price) || a.orderId - b.orderId);
}

/** One marker per order of the symbol with fills, at the minute of its latest fill, in time order. */
export function fillMarkers(orders: Order[], symbol: string): FillMarker[] {
  return orders
    .filter((o) => o.symbol === symbol && o.filled_qty > 0 && o.filled_avg_price != null)
    .map((o) => ({
      orderId: o.id,
      side: o.side,
      time: Math.floor(isoMicros(o.updated_at) / 60_000_000) * 60,
      qty: o.filled_qty,
      price: o.filled_avg_price as string,
      text: `${o.side === 'buy' ? 'B' : 'S'} ${o.filled_qty}`,
    }))
    .sort((a, b) => a.time - b.time || a.orderId - b.orderId);
}

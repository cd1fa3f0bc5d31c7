// Keeping the account's orders: REST snapshots and `order` pushes may arrive
// in any order, so a merge never moves an order backwards.

import type { Order, OrderStatus } from './types';

export const OPEN_STATUSES: ReadonlySet<OrderStatus> = new Set<OrderStatus>([
  'pending_new',
  'new',
  'partially_filled',
  'pending_cancel',
]);

export function isOpen(status: OrderStatus | string): boolean {
  return OPEN_STATUSES.has(status as OrderStatus);
}

/** Microseconds since the epoch of an ISO 8601 time (keeps the server's microseconds). */
export function isoMicros(iso: string | null | undefined): number {
  if (!iso) return 0;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$/.exec(iso.trim());
  if (!m) {
    const t = Date.parse(iso);
    return Number.isNaN(t) ? 0 : t * 1000;
  }
  const ms = Date.parse(m[1] + (m[3] ?? 'Z'));
  const micros = Number(((m[2] ?? '') + '000000').slice(0, 6));
  return ms * 1000 + micros;
}

/**
 * The newer of two versions of one order. A closed order (filled, canceled,
 * expired, rejected) never goes back to an open status; otherwise the later
 * `updated_at` wins, and an open order never loses fills.
 */
export function mergeOrder(prev: Order | undefined, next: Order): Order {
  if (!prev) return next;
  const prevClosed = !isOpen(prev.status);
  const nextClosed = !isOpen(next.status);
  if (prevClosed && !nextClosed) return prev;
  if (!prevClosed && nextClosed) return next;
  if (next.filled_qty < prev.filled_qty) return prev;
  if (isoMicros(next.updated_at) < isoMicros(prev.updated_at) && next.filled_qty === prev.filled_qty) return prev;
  return next;
}

export type OrderMap = Record<number, Order>;

/** Applies one pushed (or just-created) order. Returns the same map when nothing changed. */
export function applyOrder(orders: OrderMap, next: Order): OrderMap {
  const prev = orders[next.id];
  const merged = mergeOrder(prev, next);
  if (merged === prev) return orders;
  return { ...orders, [next.id]: merged };
}

/**
 * Applies a REST snapshot (the open list and the closed list fetched
 * together). Orders in the snapshot are merged with what is held; a held order
 * the snapshot lacks is kept only when it is newer than everything in it
 * (created after the snapshot was taken).
 */
export function applySnapshot(orders: OrderMap, snapshot: Order[]): OrderMap {
  const out: OrderMap = {};
  let maxId = 0;
  for (const o of snapshot) {
    out[o.id] = mergeOrder(out[o.id] ?? orders[o.id], o);
    if (o.id > maxId) maxId = o.id;
  }
  for (const held of Object.values(orders)) {
    if (!(held.id in out) && held.id > maxId) out[held.id] = held;
  }
  return out;
}

/** Open orders, newest first. */
export function openOrders(orders: OrderMap): Order[] {
  return Object.values(orders)
    .filter((o) => isOpen(o.status))
    .sort((a, b) => b.id - a.id);
}

/** Closed orders, newest first (by last change, then id). */
export function closedOrders(orders: OrderMap, limit = 100): Order[] {
  return Object.values(orders)
    .filter((o) => !isOpen(o.status))
    .sort((a, b) => isoMicros(b.updated_at) - isoMicros(a.updated_at) || b.id - a.id)
    .slice(0, limit);
}

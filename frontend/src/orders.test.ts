import { describe, expect, it } from 'vitest';
import { applyOrder, applySnapshot, closedOrders, isoMicros, mergeOrder, openOrders } from './orders';
import type { Order } from './types';

function order(over: Partial<Order> = {}): Order {
  return {
    id: 1,
    client_order_id: null,
    user_id: 2,
    symbol: 'AAPL',
    side: 'buy',
    type: 'limit',
    qty: 10,
    limit_price: '189.50',
    time_in_force: 'day',
    status: 'pending_new',
    filled_qty: 0,
    filled_avg_price: null,
    reject_reason: null,
    created_at: '2026-11-22T05:37:38.100000+00:00',
    updated_at: '2026-11-22T05:37:38.100000+00:00',
    ...over,
  };
}

describe('isoMicros', () => {
  it('keeps microseconds and time zones', () => {
    expect(isoMicros('2026-11-22T05:37:38.000002+00:00') - isoMicros('2026-11-22T05:37:38.000001+00:00')).toBe(1);
    expect(isoMicros('2026-11-22T06:37:38+01:00')).toBe(isoMicros('2026-11-22T05:37:38Z'));
  });
});

describe('mergeOrder', () => {
  it('takes a newer open status', () => {
    const a = order();
    const b = order({ status: 'new', updated_at: '2026-11-22T05:37:38.200000+00:00' });
    expect(mergeOrder(a, b)).toBe(b);
  });

  it('never moves an order from a closed status back to open', () => {
    const filled = order({ status: 'filled', filled_qty: 10, updated_at: '2026-11-22T05:37:38.300000+00:00' });
    // even a stale push stamped later than the final state must not reopen it
    const stale = order({ status: 'partially_filled', filled_qty: 5, updated_at: '2026-11-22T05:37:39.000000+00:00' });
    expect(mergeOrder(filled, stale)).toBe(filled);
    expect(mergeOrder(filled, order({ status: 'pending_cancel' }))).toBe(filled);
    const rejected = order({ status: 'rejected', reject_reason: 'insufficient_funds' });
    expect(mergeOrder(rejected, order({ status: 'new' }))).toBe(rejected);
  });

  it('closes an open order whatever the timestamps say', () => {
    const open = order({ status: 'new', updated_at: '2026-11-22T05:37:39.000000+00:00' });
    const canceled = order({ status: 'canceled', updated_at: '2026-11-22T05:37:38.500000+00:00' });
    expect(mergeOrder(open, canceled)).toBe(canceled);
  });

  it('ignores an older open version and never loses fills', () => {
    const partial = order({ status: 'partially_filled', filled_qty: 5, updated_at: '2026-11-22T05:37:38.500000+00:00' });
    const older = order({ status: 'new', updated_at: '2026-11-22T05:37:38.200000+00:00' });
    expect(mergeOrder(partial, older)).toBe(partial);
    const fewerFills = order({ status: 'pending_cancel', filled_qty: 3, updated_at: '2026-11-22T05:37:39.000000+00:00' });
    expect(mergeOrder(partial, fewerFills)).toBe(partial);
  });
});

describe('applyOrder / applySnapshot', () => {
  it('applies pushes by id and keeps the map when nothing changes', () => {
    const m1 = applyOrder({}, order());
    const m2 = applyOrder(m1, order({ status: 'new', updated_at: '2026-11-22T05:37:39Z' }));
    expect(m2[1].status).toBe('new');
    const m3 = applyOrder(m2, order()); // stale
    expect(m3).toBe(m2);
  });

  it('merges a REST snapshot without undoing newer pushes', () => {
    const held = {
      1: order({ id: 1, status: 'filled', filled_qty: 10 }),
      2: order({ id: 2, status: 'new' }),
      5: order({ id: 5, status: 'pending_new' }), // created after the snapshot
    };
    const snapshot = [order({ id: 1, status: 'new' }), order({ id: 3, status: 'canceled' })];
    const out = applySnapshot(held, snapshot);
    expect(out[1].status).toBe('filled'); // the push wins over a stale snapshot
    expect(out[2]).toBeUndefined(); // gone from the snapshot and older than it: dropped
    expect(out[3].status).toBe('canceled');
    expect(out[5].status).toBe('pending_new'); // newer than the snapshot: kept
  });

  it('splits open and closed orders newest first', () => {
    const m = {
      1: order({ id: 1, status: 'filled', updated_at: '2026-11-22T05:00:00Z' }),
      2: order({ id: 2, status: 'new' }),
      3: order({ id: 3, status: 'pending_cancel' }),
      4: order({ id: 4, status: 'rejected', updated_at: '2026-11-22T06:00:00Z' }),
    };
    expect(openOrders(m).map((o) => o.id)).toEqual([3, 2]);
    expect(closedOrders(m).map((o) => o.id)).toEqual([4, 1]);
  });
});

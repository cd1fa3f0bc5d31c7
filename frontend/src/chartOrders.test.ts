import { describe, expect, it } from 'vitest';
import { fillMarkers, orderLines } from './chartOrders';
import type { Order } from './types';

function order(changes: Partial<Order>): Order {
  return {
    id: 1, client_order_id: null, user_id: 7, symbol: 'AAPL', side: 'buy', type: 'limit', qty: 10, limit_price: '10.00',
    stop_price: null, triggered: null, time_in_force: 'day', status: 'new', filled_qty: 0, filled_avg_price: null,
    reject_reason: null, created_at: '2026-12-04T09:30:00Z', updated_at: '2026-12-04T09:30:00Z', ...changes,
  };
}

describe('the chart overlay of own orders', () => {
  it('draws a line at each open limit and at each waiting stop, highest first', () => {
    const lines = orderLines(
      [
        order({ id: 1, limit_price: '9.00' }),
        order({ id: 2, side: 'sell', type: 'stop', limit_price: null, stop_price: '8.50', triggered: false, qty: 5 }),
        order({ id: 3, side: 'sell', type: 'stop_limit', limit_price: '8.40', stop_price: '8.60', triggered: true, filled_qty: 2 }),
        order({ id: 4, status: 'filled', filled_qty: 10, filled_avg_price: '10.00' }),
        order({ id: 5, symbol: 'MSFT' }),
        order({ id: 6, type: 'market', limit_price: null }),
      ],
      'AAPL',
    );
    expect(lines.map((l) => [l.orderId, l.kind, l.price, l.title])).toEqual([
      [1, 'limit', '9.00', 'buy 10'],
      [2, 'stop', '8.50', 'stop sell 5'],
      [3, 'limit', '8.40', 'sell 8'], // triggered: its stop line is gone, its limit remains
    ]);
  });

  it('marks each order with fills at the minute of its last fill', () => {
    const markers = fillMarkers(
      [
        order({ id: 2, side: 'sell', filled_qty: 3, filled_avg_price: '10.10', updated_at: '2026-12-04T09:31:59.999999Z' }),
        order({ id: 1, filled_qty: 10, filled_avg_price: '10.00', status: 'filled', updated_at: '2026-12-04T09:30:05Z' }),
        order({ id: 3 }),
      ],
      'AAPL',
    );
    expect(markers.map((m) => [m.orderId, m.time, m.text, m.price])).toEqual([
      [1, Date.parse('2026-12-04T09:30:00Z') / 1000, 'B 10', '10.00'],
      [2, Date.parse('2026-12-04T09:31:00Z') / 1000, 'S 3', '10.10'],
    ]);
  });
});

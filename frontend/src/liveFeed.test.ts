import { afterEach, describe, expect, it, vi } from 'vitest';
import { coalescer, pushAction, stripDetail } from './liveFeed';
import type { OrderDetail } from './types';

afterEach(() => vi.useRealTimers());

describe('pushes as reducer actions', () => {
  it('maps the pushes the screens hold', () => {
    const price = { symbol: 'AAPL', last_price: '1.00' };
    expect(pushAction('price', price)).toEqual({ type: 'price', price });
    expect(pushAction('reset', null)).toEqual({ type: 'reset' });
    expect(pushAction('leaderboard', [])).toEqual({ type: 'leaderboard', rows: [] });
  });

  it('strips the status history from a pushed order', () => {
    const o = { id: 1, user_id: 2, status: 'new', history: [{ status: 'new' }] } as unknown as OrderDetail;
    expect(pushAction('order', o)).toEqual({ type: 'order', order: { id: 1, user_id: 2, status: 'new' } });
    expect(stripDetail(o)).not.toHaveProperty('history');
  });

  it('has no action for pushes that only trigger a reload, nor for a malformed leaderboard', () => {
    for (const event of ['stock', 'delisted', 'user', 'revoked', 'connect']) expect(pushAction(event, {})).toBeNull();
    expect(pushAction('leaderboard', { not: 'rows' })).toBeNull();
  });
});

describe('coalescer', () => {
  it('runs a burst of calls with one key once, each key on its own', () => {
    vi.useFakeTimers();
    const ran: string[] = [];
    const c = coalescer(250);
    for (let i = 0; i < 500; i += 1) c.soon('user', () => ran.push('user'));
    c.soon('stock', () => ran.push('stock'));
    vi.advanceTimersByTime(249);
    expect(ran).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ran.sort()).toEqual(['stock', 'user']);
    c.soon('user', () => ran.push('again'));
    c.cancel();
    vi.advanceTimersByTime(1000);
    expect(ran).not.toContain('again');
  });
});

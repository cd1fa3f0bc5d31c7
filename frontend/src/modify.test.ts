import { describe, expect, it } from 'vitest';
import { canModify, modifyDefaults, modifyRequest } from './modify';
import type { Order } from './types';

const base: Order = {
  id: 7, client_order_id: null, user_id: 2, symbol: 'AAPL', side: 'sell', type: 'stop_limit', qty: 10,
  limit_price: '48.50', stop_price: '49.00', triggered: false, time_in_force: 'gtc', status: 'new', filled_qty: 3,
  filled_avg_price: null, reject_reason: null, created_at: '', updated_at: '',
};

describe('modifying an open order', () => {
  it('starts from what is still open, at its prices', () => {
    expect(modifyDefaults(base)).toEqual({ qty: '7', limit: '48.50', stop: '49.00' });
  });
  it('sends the quantity and only the prices that changed', () => {
    expect(modifyRequest(base, { qty: '7', limit: '48.50', stop: '48.00' })).toEqual({ body: { qty: 7, stop_price: '48.00' } });
    expect(modifyRequest({ ...base, type: 'limit', stop_price: null }, { qty: '5', limit: '48.6', stop: '' })).toEqual({
      body: { qty: 5, limit_price: '48.60' },
    });
  });
  it('refuses a bad quantity or price before sending', () => {
    expect(modifyRequest(base, { qty: '0', limit: '48.50', stop: '49.00' })).toHaveProperty('error');
    expect(modifyRequest(base, { qty: '7', limit: '48.505', stop: '49.00' })).toEqual({ error: 'Price must be on the 0.01 tick' });
    expect(modifyRequest(base, { qty: '7', limit: '48.50', stop: '' })).toEqual({ error: 'Enter a stop price' });
  });
  it('offers Modify only for orders matching has seen and not on their way out', () => {
    expect(canModify(base)).toBe(true);
    expect(canModify({ ...base, status: 'pending_new' })).toBe(false);
    expect(canModify({ ...base, status: 'pending_cancel' })).toBe(false);
    expect(canModify({ ...base, replaced_by: 9 })).toBe(false);
  });
});

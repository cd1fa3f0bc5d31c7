import { describe, expect, it } from 'vitest';
import { formatCents } from './money';
import { checkTicket, newClientOrderId, parsePrice, parseQty, type TicketInput } from './ticket';

const base: TicketInput = { symbol: 'AAPL', side: 'buy', type: 'limit', qty: '10', price: '189.50', tif: 'day' };

describe('ticket quantity', () => {
  it('accepts whole shares from 1 to 1,000,000', () => {
    expect(parseQty('1')).toEqual({ qty: 1 });
    expect(parseQty(' 250 ')).toEqual({ qty: 250 });
    expect(parseQty('1000000')).toEqual({ qty: 1_000_000 });
  });
  it('refuses anything else', () => {
    for (const bad of ['', '0', '-1', '1.5', '10.0', '1e3', 'ten', '1000001', '1,000']) {
      expect(parseQty(bad)).toHaveProperty('error');
    }
  });
});

describe('ticket limit price', () => {
  it('accepts positive prices on the 0.01 tick', () => {
    expect(parsePrice('189.50')).toEqual({ cents: 18950n });
    expect(parsePrice('0.01')).toEqual({ cents: 1n });
    expect(parsePrice('190')).toEqual({ cents: 19000n });
    expect(parsePrice('1000000')).toEqual({ cents: 100000000n });
    expect(parsePrice('12.300')).toEqual({ cents: 1230n });
  });
  it('refuses zero, negatives, sub-tick, too large and garbage', () => {
    expect(parsePrice('0')).toEqual({ error: 'Price must be greater than 0' });
    expect(parsePrice('0.00')).toHaveProperty('error');
    expect(parsePrice('-1')).toHaveProperty('error');
    expect(parsePrice('189.505')).toEqual({ error: 'Price must be on the 0.01 tick' });
    expect(parsePrice('1000000.01')).toHaveProperty('error');
    expect(parsePrice('')).toHaveProperty('error');
    expect(parsePrice('abc')).toHaveProperty('error');
    expect(parsePrice('1e2')).toHaveProperty('error');
  });
});

describe('checkTicket', () => {
  it('builds the request body with a normalized price', () => {
    const c = checkTicket({ ...base, price: '189.5' }, { buyingPower: '10000.00' });
    expect(c.errors).toEqual([]);
    expect(c.body).toEqual({ symbol: 'AAPL', side: 'buy', type: 'limit', qty: 10, limit_price: '189.50', time_in_force: 'day' });
    expect(formatCents(c.estimateCents!)).toBe('1895.00');
    expect(c.warning).toBeNull();
  });

  it('estimates a market order at the last price and sends no limit price', () => {
    const c = checkTicket({ ...base, type: 'market', price: 'junk', qty: '3' }, { lastPrice: '0.10', buyingPower: '100.00' });
    expect(c.errors).toEqual([]);
    expect(formatCents(c.estimateCents!)).toBe('0.30');
    expect(c.body).toEqual({ symbol: 'AAPL', side: 'buy', type: 'market', qty: 3, time_in_force: 'day' });
  });

  it('names the fields in error and sends nothing', () => {
    const c = checkTicket({ ...base, qty: '0', price: '1.001' });
    expect(c.errors.map((e) => e.field)).toEqual(['qty', 'limit_price']);
    expect(c.body).toBeNull();
    expect(c.estimateCents).toBeNull();
    expect(checkTicket({ ...base, symbol: '' }).errors[0].field).toBe('symbol');
  });

  it('warns (without blocking) when buying power is short', () => {
    const c = checkTicket({ ...base, qty: '100' }, { buyingPower: '18949.99' });
    expect(c.body).not.toBeNull();
    expect(c.warning).toMatch(/Not enough buying power/);
    expect(checkTicket({ ...base, qty: '100' }, { buyingPower: '18950.00' }).warning).toBeNull();
  });

  it('warns when a market buy may exceed buying power at the 5% collar', () => {
    const c = checkTicket({ ...base, type: 'market', qty: '100' }, { lastPrice: '100.00', buyingPower: '10400.00' });
    expect(c.warning).toMatch(/5%/);
    expect(checkTicket({ ...base, type: 'market', qty: '100' }, { lastPrice: '100.00', buyingPower: '10500.00' }).warning).toBeNull();
  });

  it('warns when selling more than the free shares', () => {
    const c = checkTicket({ ...base, side: 'sell', qty: '11' }, { freeShares: 10 });
    expect(c.warning).toBe('Not enough shares: selling 11, 10 free');
    expect(checkTicket({ ...base, side: 'sell', qty: '10' }, { freeShares: 10 }).warning).toBeNull();
  });

  it("adds the class's commission to a buy's cost", () => {
    const ctx = { buyingPower: '1000.25', commissionPerShare: '0.025' };
    const c = checkTicket({ ...base, qty: '10', price: '100.00' }, ctx);
    expect(c.estimateCents).toBe(100000n);
    expect(c.commissionCents).toBe(25n); // 10 x 0.025
    expect(c.warning).toBeNull();
    expect(checkTicket({ ...base, qty: '10', price: '100.00' }, { ...ctx, buyingPower: '1000.24' }).warning).toBe(
      'Not enough buying power: $1000.25 needed, $1000.24 available',
    );
    expect(checkTicket({ ...base, qty: '10' }, { commissionPerShare: '0.00' }).commissionCents).toBeNull();
  });

  it('warns about the max order size and the max position', () => {
    expect(checkTicket({ ...base, qty: '101' }, { maxOrderQty: 100 }).warning).toBe('Orders are limited to 100 shares (max order size)');
    expect(checkTicket({ ...base, qty: '100' }, { maxOrderQty: 100 }).warning).toBeNull();
    expect(checkTicket({ ...base, qty: '11' }, { maxPosition: 50, position: 40 }).warning).toBe(
      'Positions are limited to 50 shares (max position); you hold 40',
    );
    expect(checkTicket({ ...base, qty: '10' }, { maxPosition: 50, position: 40 }).warning).toBeNull();
    // selling never grows a long position
    expect(checkTicket({ ...base, side: 'sell', qty: '11' }, { maxPosition: 50, position: 40, freeShares: 40 }).warning).toBeNull();
  });

  it('makes client order ids that fit the 48 character limit', () => {
    const a = newClientOrderId();
    expect(a.length).toBeLessThanOrEqual(48);
    expect(a).not.toBe(newClientOrderId());
  });
});

describe('stop tickets', () => {
  const stop: TicketInput = { symbol: 'AAPL', side: 'sell', type: 'stop', qty: '10', price: '', stopPrice: '180.00', tif: 'gtc' };

  it('a stop sends its stop price and no limit, and says what it will do', () => {
    const check = checkTicket(stop, { lastPrice: '189.50', freeShares: 10 });
    expect(check.body).toEqual({ symbol: 'AAPL', side: 'sell', type: 'stop', qty: 10, time_in_force: 'gtc', stop_price: '180.00' });
    expect(check.estimateCents).toBe(180000n); // at the stop price, not the last
    expect(check.explain).toBe(
      'Waits, out of the book, until a trade in AAPL prints at or below 180.00; then it becomes a market order to sell for 10. A stop-loss: it sells if the price falls that far. Good until canceled.',
    );
  });

  it('a stop-limit sends both prices', () => {
    const check = checkTicket({ ...stop, side: 'buy', type: 'stop_limit', price: '192.00', stopPrice: '191.00', tif: 'day' });
    expect(check.body).toMatchObject({ type: 'stop_limit', limit_price: '192.00', stop_price: '191.00' });
    expect(check.explain).toContain('prints at or above 191.00; then it becomes a limit order to buy at 192.00 for 10');
    expect(check.explain).toContain('Good until the close.');
  });

  it('refuses a missing stop price, IOC/FOK, and a limit on the wrong side of the stop', () => {
    expect(checkTicket({ ...stop, stopPrice: '' }).errors).toEqual([{ field: 'stop_price', message: 'Enter a stop price' }]);
    expect(checkTicket({ ...stop, tif: 'ioc' }).errors.map((e) => e.field)).toEqual(['time_in_force']);
    expect(checkTicket({ ...stop, tif: 'fok' }).body).toBeNull();
    const low = checkTicket({ ...stop, side: 'buy', type: 'stop_limit', price: '190.99', stopPrice: '191.00' });
    expect(low.errors).toEqual([{ field: 'limit_price', message: "A stop-limit buy's limit may not be below its stop price" }]);
    const high = checkTicket({ ...stop, type: 'stop_limit', price: '180.01', stopPrice: '180.00' });
    expect(high.errors.map((e) => e.field)).toEqual(['limit_price']);
  });

  it('warns when a stop buy could reserve more than the buying power', () => {
    const check = checkTicket({ ...stop, side: 'buy', stopPrice: '100.00' }, { buyingPower: '1020.00' });
    expect(check.warning).toBe('A stop buy reserves up to 5% above its stop price ($1050.00); buying power is $1020.00');
  });
});

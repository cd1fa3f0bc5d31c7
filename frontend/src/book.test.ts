import { describe, expect, it } from 'vitest';
import { acceptBook, applyBook } from './book';
import type { Book } from './types';

const book = (seq: number, symbol = 'AAPL'): Book => ({
  symbol,
  seq,
  bids: [{ price: '189.00', qty: seq, orders: 1 }],
  asks: [{ price: '190.00', qty: seq, orders: 1 }],
});

describe('book sequence ordering', () => {
  it('takes the first book of the selected symbol', () => {
    expect(acceptBook(null, book(3), 'AAPL')).toBe(true);
  });
  it('takes a newer or equal seq and ignores an older one', () => {
    const shown = book(10);
    expect(acceptBook(shown, book(11), 'AAPL')).toBe(true);
    expect(acceptBook(shown, book(10), 'AAPL')).toBe(true);
    expect(acceptBook(shown, book(9), 'AAPL')).toBe(false);
    expect(applyBook(shown, book(9), 'AAPL')).toBe(shown);
  });
  it('ignores books of other symbols and starts over for a new symbol', () => {
    expect(acceptBook(book(10), book(50, 'MSFT'), 'AAPL')).toBe(false);
    expect(acceptBook(book(10, 'AAPL'), book(2, 'MSFT'), 'MSFT')).toBe(true);
  });
  it('a late REST snapshot does not replace a newer push', () => {
    let shown: Book | null = null;
    shown = applyBook(shown, book(12), 'AAPL'); // push
    shown = applyBook(shown, book(8), 'AAPL'); // REST answer that left earlier
    expect(shown?.seq).toBe(12);
  });
});

// The order book shown for the selected symbol: a snapshot (REST) or a push
// replaces it only when its sequence number is not older than what is shown.

import type { Book } from './types';

export function acceptBook(current: Book | null, next: Book, selected: string): boolean {
  if (next.symbol !== selected) return false;
  if (!current || current.symbol !== next.symbol) return true;
  return next.seq >= current.seq;
}

export function applyBook(current: Book | null, next: Book, selected: string): Book | null {
  return acceptBook(current, next, selected) ? next : current;
}

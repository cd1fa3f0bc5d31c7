// The open orders' Modify form: what a replace may change, checked before sending.

import { formatCents } from './money';
import { LIMIT_TYPES, parsePrice, parseQty, STOP_TYPES } from './ticket';
import type { Order, ReplaceRequest } from './types';

export interface ModifyInput {
  qty: string;
  limit: string;
  stop: string;
}

/** The form's starting values: what the order still has open, at its prices. */
export function modifyDefaults(o: Order): ModifyInput {
  return { qty: String(o.qty - o.filled_qty), limit: o.limit_price ?? '', stop: o.stop_price ?? '' };
}

/** The PATCH body, or the first problem with the form. Unchanged fields are not sent. */
export function modifyRequest(o: Order, input: ModifyInput): { body: ReplaceRequest } | { error: string } {
  const q = parseQty(input.qty);
  if ('error' in q) return { error: q.error };
  const body: ReplaceRequest = { qty: q.qty };
  if (LIMIT_TYPES.includes(o.type)) {
    const p = parsePrice(input.limit);
    if ('error' in p) return { error: p.error };
    if (formatCents(p.cents) !== o.limit_price) body.limit_price = formatCents(p.cents);
  }
  if (STOP_TYPES.includes(o.type)) {
    const s = parsePrice(input.stop, 'a stop price');
    if ('error' in s) return { error: s.error };
    if (formatCents(s.cents) !== o.stop_price) body.stop_price = formatCents(s.cents);
  }
  return { body };
}

/** Only an order matching has seen, not filled or being canceled, can be replaced. */
export function canModify(o: Order): boolean {
  return (o.status === 'new' || o.status === 'partially_filled') && o.replaced_by == null;
}

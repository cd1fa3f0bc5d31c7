// Revaluing the portfolio when a `price` push arrives before the server's own
// `portfolio` push: market value = qty x last, unrealized P&L = qty x (last -
// avg cost), equity = cash + market values; all in integer units.

import { compareDecimal, formatCents, rescale, toCents, toUnits } from './money';
import type { Portfolio, Position } from './types';

const AVG_SCALE = 4;

export function revaluePosition(p: Position, lastPrice: string): Position {
  const last = toCents(lastPrice);
  const avg = toUnits(p.avg_cost, AVG_SCALE);
  if (last === null) return p;
  const qty = BigInt(p.qty);
  const value = qty * last;
  const upl =
    avg === null ? null : rescale(qty * rescale(last, 2, AVG_SCALE) - qty * avg, AVG_SCALE, 2);
  return {
    ...p,
    last_price: lastPrice,
    market_value: formatCents(value),
    unrealized_pl: upl === null ? p.unrealized_pl : formatCents(upl),
  };
}

/** The portfolio after a new last price for `symbol`; the same object when nothing changes. */
export function applyPrice(portfolio: Portfolio, symbol: string, lastPrice: string): Portfolio {
  const idx = portfolio.positions.findIndex((p) => p.symbol === symbol);
  if (idx < 0) return portfolio;
  const current = portfolio.positions[idx];
  if (compareDecimal(current.last_price, lastPrice) === 0) return portfolio;
  const positions = portfolio.positions.slice();
  positions[idx] = revaluePosition(current, lastPrice);

  const cash = toCents(portfolio.cash);
  let values = 0n;
  let upl = 0n;
  let ok = cash !== null;
  for (const p of positions) {
    const v = toCents(p.market_value);
    const u = toCents(p.unrealized_pl);
    if (v === null || u === null) {
      ok = false;
      break;
    }
    values += v;
    upl += u;
  }
  if (!ok || cash === null) return { ...portfolio, positions };
  return {
    ...portfolio,
    positions,
    equity: formatCents(cash + values),
    unrealized_pl: formatCents(upl),
  };
}

/** Shares of `symbol` not reserved by open sell orders. */
export function freeShares(portfolio: Portfolio | null, symbol: string): number | null {
  if (!portfolio) return null;
  const p = portfolio.positions.find((x) => x.symbol === symbol);
  return p ? p.qty - p.reserved_qty : 0;
}

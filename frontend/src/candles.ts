// 1-minute candles: loaded over REST, then kept current from `trade` pushes.

import { compareDecimal } from './money';
import type { ApiCandle, Candle, Trade } from './types';
import { isoMicros } from './orders';

export const INTERVAL_SECONDS = 60;

/** Unix seconds of the start of the minute that holds `ts`. */
export function bucketOf(ts: string, interval = INTERVAL_SECONDS): number {
  const seconds = Math.floor(isoMicros(ts) / 1_000_000);
  return seconds - (((seconds % interval) + interval) % interval);
}

export function fromApi(c: ApiCandle): Candle {
  return {
    time: bucketOf(c.time),
    open: c.open,
    high: c.high,
    low: c.low,
    close: c.close,
    volume: c.volume,
  };
}

function maxPrice(a: string, b: string): string {
  return (compareDecimal(b, a) ?? 0) > 0 ? b : a;
}

function minPrice(a: string, b: string): string {
  return (compareDecimal(b, a) ?? 0) < 0 ? b : a;
}

/**
 * Folds one trade into the candles (oldest first): updates the last candle
 * when the trade falls in its minute, starts a new candle for a later minute,
 * and ignores a trade older than the last candle (the next REST load covers it).
 */
export function applyTrade(candles: Candle[], trade: Trade, interval = INTERVAL_SECONDS): Candle[] {
  const time = bucketOf(trade.ts, interval);
  const last = candles[candles.length - 1];
  if (!last || time > last.time) {
    return [
      ...candles,
      { time, open: trade.price, high: trade.price, low: trade.price, close: trade.price, volume: trade.qty },
    ];
  }
  if (time < last.time) return candles;
  const updated: Candle = {
    time,
    open: last.open,
    high: maxPrice(last.high, trade.price),
    low: minPrice(last.low, trade.price),
    close: trade.price,
    volume: last.volume + trade.qty,
  };
  return [...candles.slice(0, -1), updated];
}

import {
  CandlestickSeries,
  ColorType,
  CrosshairMode,
  HistogramSeries,
  LineStyle,
  createChart,
  createSeriesMarkers,
  type IChartApi,
  type IPriceLine,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import { useEffect, useRef } from 'react';
import { fillMarkers, orderLines } from '../chartOrders';
import { int, pct, tone } from '../format';
import type { Candle, Order, Stock } from '../types';
import type { Theme } from './Header';
import { Panel } from './Panel';

interface Props {
  stock: Stock | undefined;
  candles: Candle[];
  version: number;
  theme: Theme;
  /** the trader's own orders (lines at open limits and waiting stops, markers on fills) */
  orders?: Order[];
}

interface Palette {
  bg: string;
  text: string;
  grid: string;
  border: string;
  up: string;
  down: string;
  upVol: string;
  downVol: string;
}

// read from the CSS variables of the current theme
function palette(): Palette {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    bg: v('--panel', '#131722'),
    text: v('--muted', '#8a93a6'),
    grid: v('--grid', '#1e2330'),
    border: v('--border', '#2a2f3b'),
    up: v('--up', '#26a69a'),
    down: v('--down', '#ef5350'),
    upVol: v('--up-vol', 'rgba(38,166,154,0.45)'),
    downVol: v('--down-vol', 'rgba(239,83,80,0.45)'),
  };
}

const tickFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
const crossFmt = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});
const toDate = (t: Time) => new Date((t as number) * 1000);

// The chart plots numbers; the values shown as text elsewhere stay strings.
function toBar(c: Candle) {
  return {
    time: c.time as UTCTimestamp,
    open: Number(c.open),
    high: Number(c.high),
    low: Number(c.low),
    close: Number(c.close),
  };
}

function toVolume(c: Candle, p: Palette) {
  return {
    time: c.time as UTCTimestamp,
    value: c.volume,
    color: Number(c.close) >= Number(c.open) ? p.upVol : p.downVol,
  };
}

export function PriceChart({ stock, candles, version, theme, orders = [] }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<{ api: IChartApi; candles: ISeriesApi<'Candlestick'>; volume: ISeriesApi<'Histogram'> } | null>(
    null,
  );
  const shown = useRef<{ version: number; count: number }>({ version: -1, count: 0 });
  const drawn = useRef<{ lines: IPriceLine[]; markers: ISeriesMarkersPluginApi<Time> | null }>({ lines: [], markers: null });
  const symbol = stock?.symbol ?? '';
  const lines = orderLines(orders, symbol);
  const marks = fillMarkers(orders, symbol);
  const overlayKey = JSON.stringify([lines, marks]);

  useEffect(() => {
    if (!box.current) return;
    const api = createChart(box.current, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: 'transparent' }, fontSize: 11, attributionLogo: true },
      crosshair: { mode: CrosshairMode.Normal },
      rightPriceScale: { scaleMargins: { top: 0.08, bottom: 0.28 } },
      timeScale: {
        timeVisible: true,
        secondsVisible: false,
        rightOffset: 4,
        barSpacing: 9,
        tickMarkFormatter: (t: Time) => tickFmt.format(toDate(t)),
      },
      localization: { timeFormatter: (t: Time) => crossFmt.format(toDate(t)) },
    });
    const candleSeries = api.addSeries(CandlestickSeries, {
      priceFormat: { type: 'price', precision: 2, minMove: 0.01 },
    });
    const volumeSeries = api.addSeries(HistogramSeries, {
      priceScaleId: 'volume',
      priceFormat: { type: 'volume' },
      lastValueVisible: false,
      priceLineVisible: false,
    });
    api.priceScale('volume').applyOptions({ scaleMargins: { top: 0.78, bottom: 0 } });
    chart.current = { api, candles: candleSeries, volume: volumeSeries };
    shown.current = { version: -1, count: 0 };
    drawn.current = { lines: [], markers: createSeriesMarkers(candleSeries, []) };
    return () => {
      chart.current = null;
      drawn.current = { lines: [], markers: null };
      api.remove();
    };
  }, []);

  // colors follow the theme
  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    const p = palette();
    c.api.applyOptions({
      layout: { textColor: p.text },
      grid: { vertLines: { color: p.grid }, horzLines: { color: p.grid } },
      rightPriceScale: { borderColor: p.border },
      timeScale: { borderColor: p.border },
    });
    c.candles.applyOptions({
      upColor: p.up,
      downColor: p.down,
      borderUpColor: p.up,
      borderDownColor: p.down,
      wickUpColor: p.up,
      wickDownColor: p.down,
    });
    shown.current = { version: -1, count: 0 }; // redraw volume bars in the new colors
  }, [theme]);

  // data: a new load replaces everything; a trade updates the last bar or adds one
  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    const p = palette();
    const s = shown.current;
    const last = candles[candles.length - 1];
    if (s.version === version && last && (candles.length === s.count || candles.length === s.count + 1)) {
      c.candles.update(toBar(last));
      c.volume.update(toVolume(last, p));
    } else {
      c.candles.setData(candles.map(toBar));
      c.volume.setData(candles.map((x) => toVolume(x, p)));
      if (s.version !== version) c.api.timeScale().scrollToRealTime();
    }
    shown.current = { version, count: candles.length };
  }, [candles, version, theme]);

  // the trader's own orders: redrawn when what they show changes
  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    const p = palette();
    for (const line of drawn.current.lines) c.candles.removePriceLine(line);
    drawn.current.lines = lines.map((l) =>
      c.candles.createPriceLine({
        price: Number(l.price),
        color: l.side === 'buy' ? p.up : p.down,
        lineWidth: 1,
        lineStyle: l.kind === 'stop' ? LineStyle.Dashed : LineStyle.Dotted,
        axisLabelVisible: true,
        title: l.title,
      }),
    );
    drawn.current.markers?.setMarkers(
      marks.map((m) => ({
        time: m.time as UTCTimestamp,
        position: m.side === 'buy' ? 'belowBar' : 'aboveBar',
        shape: m.side === 'buy' ? 'arrowUp' : 'arrowDown',
        color: m.side === 'buy' ? p.up : p.down,
        text: m.text,
      })),
    );
  }, [overlayKey, theme]);

  return (
    <Panel
      className="chart-panel"
      label="Price chart"
      headClass="chart-head"
      head={
        stock ? (
          <>
            <h2 className="chart-symbol">{stock.symbol}</h2>
            <span className="muted ellipsis chart-name">{stock.name}</span>
            <span className="chart-last strong">{stock.last_price}</span>
            <span className={tone(stock.change_pct)}>{pct(stock.change_pct)}</span>
            <span className="ohlc muted">
              O <b>{stock.open ?? '—'}</b> H <b>{stock.high ?? '—'}</b> L <b>{stock.low ?? '—'}</b> V{' '}
              <b>{int(stock.volume)}</b>
            </span>
            <span className="muted small chart-interval">1m</span>
          </>
        ) : (
          <h2>Chart</h2>
        )
      }
    >
      <div className="chart-box" data-testid="chart">
        <div className="chart-canvas" ref={box} />
        <ul className="sr-only" data-testid="chart-orders" aria-label="Your orders on the chart">
          {lines.map((l) => (
            <li key={`${l.orderId}-${l.kind}`} data-testid={`chart-line-${l.orderId}-${l.kind}`}>
              {l.kind} {l.title} at {l.price}
            </li>
          ))}
          {marks.map((m) => (
            <li key={`fill-${m.orderId}`} data-testid={`chart-fill-${m.orderId}`}>
              filled {m.text} at {m.price}
            </li>
          ))}
        </ul>
        {candles.length === 0 && <div className="chart-empty muted">No trades yet for {stock?.symbol ?? 'this symbol'}</div>}
      </div>
    </Panel>
  );
}

import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { orderErrorText } from '../errors';
import { formatCents } from '../money';
import { freeShares } from '../portfolio';
import { checkTicket, LIMIT_TYPES, newClientOrderId, STOP_TYPES } from '../ticket';
import type { MarketStatus, Order, OrderRequest, OrderType, Portfolio, Settings, Side, Stock, TimeInForce } from '../types';
import { Panel } from './Panel';

export interface Prefill {
  price: string;
  side: Side;
  n: number;
}

interface Props {
  stocks: Stock[];
  selected: string;
  onSelect(symbol: string): void;
  portfolio: Portfolio | null;
  market: MarketStatus | null;
  loggedIn: boolean;
  orders: Record<number, Order>;
  prefill: Prefill | null;
  placeOrder(order: OrderRequest): Promise<Order>;
  /** the class's commission and limits, when known */
  settings?: Settings | null;
}

interface SideProps {
  side: Side;
  testid: string;
  chosen: Side;
  onChoose(side: Side): void;
  children: string;
}

function SideButton({ side, testid, chosen, onChoose, children }: SideProps) {
  return (
    <button type="button" data-testid={testid} className={`side ${side} ${chosen === side ? 'active' : ''}`} aria-pressed={chosen === side} onClick={() => onChoose(side)}>
      {children}
    </button>
  );
}

const TIFS: { value: TimeInForce; label: string }[] = [
  { value: 'day', label: 'DAY' },
  { value: 'gtc', label: 'GTC' },
  { value: 'ioc', label: 'IOC' },
  { value: 'fok', label: 'FOK' },
];

export function OrderTicket({ stocks, selected, onSelect, portfolio, market, loggedIn, orders, prefill, placeOrder, settings }: Props) {
  const [symbol, setSymbol] = useState(selected);
  const [side, setSide] = useState<Side>('buy');
  const [type, setType] = useState<OrderType>('limit');
  const [qty, setQty] = useState('10');
  const [price, setPrice] = useState('');
  const [stopPrice, setStopPrice] = useState('');
  const [tif, setTif] = useState<TimeInForce>('day');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [lastOrderId, setLastOrderId] = useState<number | null>(null);
  const priceTouched = useRef(false);

  const stock = stocks.find((s) => s.symbol === symbol);

  // the ticket follows the symbol selected elsewhere on the screen
  useEffect(() => {
    if (selected) setSymbol(selected);
  }, [selected]);

  // a new symbol starts the limit price at its last price
  useEffect(() => {
    priceTouched.current = false;
    setPrice('');
  }, [symbol]);
  useEffect(() => {
    if (!priceTouched.current && stock && price === '') setPrice(stock.last_price);
  }, [stock, price]);

  // clicking a book level
  useEffect(() => {
    if (!prefill) return;
    priceTouched.current = true;
    setPrice(prefill.price);
    setSide(prefill.side);
    setType('limit');
    setError(null);
  }, [prefill]);

  // a refusal because of the market's state is stale once the market changes
  useEffect(() => setError(null), [market]);

  const free = freeShares(portfolio, symbol);
  const held = portfolio ? (portfolio.positions.find((p) => p.symbol === symbol)?.qty ?? 0) : null;
  const check = useMemo(
    () =>
      checkTicket(
        { symbol, side, type, qty, price, stopPrice, tif },
        {
          lastPrice: stock?.last_price ?? null,
          buyingPower: portfolio?.buying_power ?? null,
          freeShares: free,
          position: held,
          commissionPerShare: settings?.commission_per_share ?? null,
          maxOrderQty: settings?.max_order_qty ?? null,
          maxPosition: settings?.max_position ?? null,
        },
      ),
    [symbol, side, type, qty, price, stopPrice, tif, stock?.last_price, portfolio?.buying_power, free, held, settings],
  );

  const lastOrder = lastOrderId !== null ? orders[lastOrderId] : undefined;
  const rejected = lastOrder?.status === 'rejected' ? lastOrder : undefined;
  const message = error ?? (rejected ? `Order #${rejected.id} rejected: ${rejected.reject_reason ?? 'no reason given'}` : null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    if (!loggedIn) {
      setError('Choose a trader account first');
      return;
    }
    if (!check.body) {
      setError(check.errors.map((x) => x.message).join(' · '));
      return;
    }
    setBusy(true);
    setError(null);
    setLastOrderId(null);
    try {
      const order = await placeOrder({ ...check.body, client_order_id: newClientOrderId() });
      setLastOrderId(order.id);
    } catch (exc) {
      setError(orderErrorText(exc));
    } finally {
      setBusy(false);
    }
  }

  const edit = <T,>(set: (v: T) => void) => (v: T) => {
    set(v);
    setError(null);
  };

  const notional = check.estimateCents !== null ? formatCents(check.estimateCents) : null;
  const isStop = STOP_TYPES.includes(type);
  const hasLimit = LIMIT_TYPES.includes(type);
  const halted = market !== null && market !== 'open';

  return (
    <Panel className="ticket" label="Order ticket" title="Order ticket" head={stock && <span className="muted small">last {stock.last_price}</span>}>
      <form className="ticket-form" onSubmit={submit} noValidate>
        <div className="side-toggle" role="group" aria-label="Side">
          <SideButton side="buy" testid="ticket-side-buy" chosen={side} onChoose={edit(setSide)}>
            Buy
          </SideButton>
          <SideButton side="sell" testid="ticket-side-sell" chosen={side} onChoose={edit(setSide)}>
            Sell
          </SideButton>
        </div>
        <div className="fields">
          <label>
            <span>Symbol</span>
            <select
              data-testid="ticket-symbol"
              value={symbol}
              onChange={(e) => {
                edit(setSymbol)(e.target.value);
                onSelect(e.target.value);
              }}
            >
              {!symbol && <option value="">—</option>}
              {stocks.map((s) => (
                <option key={s.symbol} value={s.symbol}>
                  {s.symbol}
                </option>
              ))}
            </select>
          </label>
          <label>
            <span>Type</span>
            <select data-testid="ticket-type" value={type} onChange={(e) => edit(setType)(e.target.value as OrderType)}>
              <option value="limit">Limit</option>
              <option value="market">Market</option>
              <option value="stop">Stop</option>
              <option value="stop_limit">Stop limit</option>
            </select>
          </label>
          <label>
            <span>Quantity</span>
            <input
              data-testid="ticket-qty"
              inputMode="numeric"
              autoComplete="off"
              value={qty}
              onChange={(e) => edit(setQty)(e.target.value)}
              aria-invalid={check.errors.some((x) => x.field === 'qty')}
            />
          </label>
          <label>
            <span>Limit price</span>
            <input
              data-testid="ticket-price"
              inputMode="decimal"
              autoComplete="off"
              value={hasLimit ? price : ''}
              placeholder={hasLimit ? '0.00' : 'at market'}
              disabled={!hasLimit}
              onChange={(e) => {
                priceTouched.current = true;
                edit(setPrice)(e.target.value);
              }}
              aria-invalid={hasLimit && check.errors.some((x) => x.field === 'limit_price')}
            />
          </label>
          {isStop && (
            <label>
              <span>Stop price</span>
              <input
                data-testid="ticket-stop-price"
                inputMode="decimal"
                autoComplete="off"
                value={stopPrice}
                placeholder="0.00"
                onChange={(e) => edit(setStopPrice)(e.target.value)}
                aria-invalid={check.errors.some((x) => x.field === 'stop_price')}
              />
            </label>
          )}
          <label>
            <span>Time in force</span>
            <select data-testid="ticket-tif" value={tif} onChange={(e) => edit(setTif)(e.target.value as TimeInForce)}>
              {TIFS.map((t) => (
                <option key={t.value} value={t.value}>
                  {t.label}
                </option>
              ))}
            </select>
          </label>
        </div>
        <dl className="ticket-summary">
          <div>
            <dt>{side === 'buy' ? 'Est. cost' : 'Est. proceeds'}</dt>
            <dd>
              <span className="cur">$</span>
              <span data-testid="ticket-estimate">{notional ?? '—'}</span>
              {type === 'market' && notional && <span className="muted tiny"> at last</span>}
              {type === 'stop' && notional && <span className="muted tiny"> at the stop</span>}
            </dd>
          </div>
          {check.commissionCents !== null && (
            <div>
              <dt>Commission</dt>
              <dd>
                <span className="cur">$</span>
                <span data-testid="ticket-commission">{formatCents(check.commissionCents)}</span>
              </dd>
            </div>
          )}
          <div>
            {side === 'buy' ? (
              <>
                <dt>Buying power</dt>
                <dd data-testid="ticket-available">{portfolio ? `$${portfolio.buying_power}` : '—'}</dd>
              </>
            ) : (
              <>
                <dt>Free shares</dt>
                <dd data-testid="ticket-available">{free ?? '—'}</dd>
              </>
            )}
          </div>
        </dl>
        {check.explain && (
          <div className="ticket-explain muted small" data-testid="ticket-explain">
            {check.explain}
          </div>
        )}
        {check.warning && (
          <div className="ticket-warning" data-testid="ticket-warning" role="status">
            {check.warning}
          </div>
        )}
        {halted && <div className="ticket-warning">The market is {market}: new orders are refused.</div>}
        {message && (
          <div className="ticket-error" data-testid="ticket-error" role="alert">
            {message}
          </div>
        )}
        {lastOrder && !rejected && (
          <div className="ticket-status muted small" data-testid="ticket-status">
            Order #{lastOrder.id} {lastOrder.status.replace(/_/g, ' ')}
            {lastOrder.filled_qty > 0 && ` · ${lastOrder.filled_qty} filled @ ${lastOrder.filled_avg_price ?? ''}`}
          </div>
        )}
        <button
          type="submit"
          data-testid="ticket-submit"
          className={`submit ${side}`}
          disabled={busy || !loggedIn}
          title={loggedIn ? undefined : 'Choose a trader account first'}
        >
          {busy ? 'Sending…' : `${side === 'buy' ? 'Buy' : 'Sell'} ${check.body ? check.body.qty : ''} ${symbol}`.replace(/\s+/g, ' ')}
        </button>
      </form>
    </Panel>
  );
}

import { Fragment, useEffect, useState } from 'react';
import { ApiError } from '../api';
import { clock, stamp } from '../format';
import { closedOrders, openOrders } from '../orders';
import type { Order, OrderDetail } from '../types';

interface Props {
  orders: Record<number, Order>;
  loggedIn: boolean;
  cancelOrder(id: number): Promise<void>;
  orderDetail(id: number): Promise<OrderDetail>;
  onSelect(symbol: string): void;
}

function Status({ status, testid }: { status: string; testid: string }) {
  return (
    <span className={`status status-${status}`} data-testid={testid}>
      {status}
    </span>
  );
}

function Side({ side }: { side: string }) {
  return <span className={side === 'buy' ? 'up' : 'down'}>{side}</span>;
}

function price(o: Order): string {
  return o.type === 'market' ? 'MKT' : (o.limit_price ?? '');
}

/** The order's status history (GET /api/orders/{id}), refreshed when the order changes. */
function Detail({ order, load, cols }: { order: Order; load(id: number): Promise<OrderDetail>; cols: number }) {
  const [detail, setDetail] = useState<OrderDetail | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    load(order.id)
      .then((d) => live && setDetail(d))
      .catch((e: unknown) => live && setFailed(e instanceof Error ? e.message : 'could not load'));
    return () => {
      live = false;
    };
  }, [order.id, order.updated_at, load]);
  return (
    <tr className="detail-row">
      <td colSpan={cols}>
        {failed && <span className="down">{failed}</span>}
        {!detail && !failed && <span className="muted">loading history…</span>}
        {detail && (
          <ol className="timeline">
            {detail.history.map((h, i) => (
              <li key={`${h.at}-${i}`}>
                <span className="muted">{stamp(h.at)}</span> <Status status={h.status} testid={`timeline-${order.id}-${i}`} />{' '}
                <span className="muted">filled {h.filled_qty}</span>
                {h.detail && <span className="timeline-detail"> · {h.detail}</span>}
              </li>
            ))}
          </ol>
        )}
      </td>
    </tr>
  );
}

export function OrdersPanel({ orders, loggedIn, cancelOrder, orderDetail, onSelect }: Props) {
  const [canceling, setCanceling] = useState<Record<number, boolean>>({});
  const [error, setError] = useState<string | null>(null);
  const [expanded, setExpanded] = useState<number | null>(null);
  const open = openOrders(orders);
  const closed = closedOrders(orders, 100);

  async function cancel(id: number) {
    setCanceling((c) => ({ ...c, [id]: true }));
    setError(null);
    try {
      await cancelOrder(id);
    } catch (exc) {
      setError(`Cancel #${id}: ${exc instanceof ApiError ? exc.message : 'failed'}`);
    } finally {
      setCanceling((c) => {
        const next = { ...c };
        delete next[id];
        return next;
      });
    }
  }

  const toggle = (id: number) => setExpanded((cur) => (cur === id ? null : id));

  return (
    <div className="orders">
      <section className="panel open-orders" aria-label="Open orders">
        <div className="panel-head">
          <h2>Open orders</h2>
          <span className="muted small">{open.length}</span>
          {error && (
            <span className="down small push-right" role="alert" data-testid="cancel-error">
              {error}
            </span>
          )}
        </div>
        <div className="panel-body scroll">
          <table className="grid" data-testid="open-orders">
            <thead>
              <tr>
                <th>#</th>
                <th>Time</th>
                <th>Symbol</th>
                <th>Side</th>
                <th className="num">Qty</th>
                <th className="num">Price</th>
                <th>TIF</th>
                <th>Status</th>
                <th className="num">Filled</th>
                <th className="num">Avg</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {open.map((o) => (
                <Fragment key={o.id}>
                  <tr data-testid={`order-${o.id}`} className="clickable" onClick={() => toggle(o.id)} title="Show the order's history">
                    <td className="muted">{o.id}</td>
                    <td className="muted">{clock(o.created_at)}</td>
                    <td
                      className="sym"
                      onClick={(e) => {
                        e.stopPropagation();
                        onSelect(o.symbol);
                      }}
                    >
                      {o.symbol}
                    </td>
                    <td>
                      <Side side={o.side} />
                    </td>
                    <td className="num">{o.qty}</td>
                    <td className="num">{price(o)}</td>
                    <td className="muted upper">{o.time_in_force}</td>
                    <td>
                      <Status status={o.status} testid={`order-status-${o.id}`} />
                    </td>
                    <td className="num" data-testid={`order-filled-${o.id}`}>
                      {o.filled_qty}
                    </td>
                    <td className="num muted">{o.filled_avg_price ?? ''}</td>
                    <td className="actions">
                      <button
                        type="button"
                        className="small-button"
                        data-testid={`cancel-${o.id}`}
                        disabled={!!canceling[o.id] || o.status === 'pending_cancel'}
                        onClick={(e) => {
                          e.stopPropagation();
                          void cancel(o.id);
                        }}
                      >
                        {o.status === 'pending_cancel' || canceling[o.id] ? 'Canceling…' : 'Cancel'}
                      </button>
                    </td>
                  </tr>
                  {expanded === o.id && <Detail order={o} load={orderDetail} cols={11} />}
                </Fragment>
              ))}
              {open.length === 0 && (
                <tr>
                  <td colSpan={11} className="empty">
                    {loggedIn ? 'No open orders.' : 'Choose a trader account.'}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </section>
      <section className="panel order-history" aria-label="Order history">
        <div className="panel-head">
          <h2>Order history</h2>
          <span className="muted small">{closed.length}</span>
        </div>
        <div className="panel-body scroll">
          <table className="grid" data-testid="order-history">
            <thead>
              <tr>
                <th>#</th>
                <th>Updated</th>
                <th>Symbol</th>
                <th>Side</th>
                <th className="num">Qty</th>
                <th className="num">Price</th>
                <th>Status</th>
                <th className="num">Filled</th>
                <th className="num">Avg price</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {closed.map((o) => (
                <Fragment key={o.id}>
                  <tr data-testid={`history-${o.id}`} className="clickable" onClick={() => toggle(o.id)} title="Show the order's history">
                    <td className="muted">{o.id}</td>
                    <td className="muted">{clock(o.updated_at)}</td>
                    <td className="sym">{o.symbol}</td>
                    <td>
                      <Side side={o.side} />
                    </td>
                    <td className="num">{o.qty}</td>
                    <td className="num">{price(o)}</td>
                    <td>
                      <Status status={o.status} testid={`history-status-${o.id}`} />
                    </td>
                    <td className="num" data-testid={`history-filled-${o.id}`}>
                      {o.filled_qty}
                    </td>
                    <td className="num" data-testid={`history-avg-${o.id}`}>
                      {o.filled_avg_price ?? ''}
                    </td>
                    <td className="reason" data-testid={`history-reason-${o.id}`} title={o.reject_reason ?? undefined}>
                      {o.reject_reason ?? ''}
                    </td>
                  </tr>
                  {expanded === o.id && <Detail order={o} load={orderDetail} cols={10} />}
                </Fragment>
              ))}
              {closed.length === 0 && (
                <tr>
                  <td colSpan={10} className="empty">
                    {loggedIn ? 'No finished orders yet.' : 'Choose a trader account.'}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </section>
    </div>
  );
}

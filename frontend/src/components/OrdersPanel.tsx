import { Fragment, useEffect, useState } from 'react';
import { cancelErrorText } from '../errors';
import { clock, stamp } from '../format';
import { closedOrders, openOrders } from '../orders';
import { canModify, modifyDefaults, modifyRequest, type ModifyInput } from '../modify';
import type { Order, OrderDetail, ReplaceRequest } from '../types';
import { Status } from './cells';
import { Panel } from './Panel';
import { num, Table } from './Table';

interface Props {
  orders: Record<number, Order>;
  loggedIn: boolean;
  cancelOrder(id: number): Promise<void>;
  replaceOrder(id: number, changes: ReplaceRequest): Promise<Order>;
  orderDetail(id: number): Promise<OrderDetail>;
  onSelect(symbol: string): void;
}

function Side({ side }: { side: string }) {
  return <span className={side === 'buy' ? 'up' : 'down'}>{side}</span>;
}

/** The order's price as a trader reads it: MKT, the limit, and for a stop its trigger. */
function price(o: Order): string {
  const limit = o.type === 'market' || o.type === 'stop' ? 'MKT' : (o.limit_price ?? '');
  if (o.stop_price == null) return limit;
  return `${limit} stop ${o.stop_price}`;
}

/** A stop's trigger state: waiting for its stop price, or triggered. */
function Trigger({ order }: { order: Order }) {
  if (order.triggered == null) return null;
  return (
    <span className={`muted tiny trigger ${order.triggered ? 'triggered' : 'waiting'}`} data-testid={`order-trigger-${order.id}`}>
      {order.triggered ? ' triggered' : ' waiting'}
    </span>
  );
}

const OPEN_COLUMNS = [
  '#',
  'Time',
  'Symbol',
  'Side',
  num('Qty'),
  num('Price'),
  'TIF',
  'Status',
  num('Filled'),
  num('Avg'),
  '',
];
const CLOSED_COLUMNS = [
  '#',
  'Updated',
  'Symbol',
  'Side',
  num('Qty'),
  num('Price'),
  'Status',
  num('Filled'),
  num('Avg price'),
  'Reason',
];

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

/** The inline form that replaces an open order (PATCH /api/orders/{id}). */
function Modify({ order, cols, replace, done }: { order: Order; cols: number; replace: Props['replaceOrder']; done(): void }) {
  const [input, setInput] = useState<ModifyInput>(() => modifyDefaults(order));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const field = (name: keyof ModifyInput, label: string) => (
    <label className="modify-field">
      <span className="muted small">{label}</span>
      <input
        data-testid={`modify-${name}-${order.id}`}
        value={input[name]}
        inputMode={name === 'qty' ? 'numeric' : 'decimal'}
        onChange={(e) => setInput({ ...input, [name]: e.target.value })}
      />
    </label>
  );
  async function save() {
    const req = modifyRequest(order, input);
    if ('error' in req) {
      setError(req.error);
      return;
    }
    setBusy(true);
    try {
      await replace(order.id, req.body);
      done();
    } catch (exc) {
      setError(exc instanceof Error ? exc.message : 'could not replace the order');
    } finally {
      setBusy(false);
    }
  }
  return (
    <tr className="modify-row">
      <td colSpan={cols}>
        {field('qty', 'Qty')}
        {(order.type === 'limit' || order.type === 'stop_limit') && field('limit', 'Limit')}
        {(order.type === 'stop' || order.type === 'stop_limit') && field('stop', 'Stop')}
        <button type="button" className="small-button" data-testid={`modify-save-${order.id}`} disabled={busy} onClick={() => void save()}>
          {busy ? 'Replacing…' : 'Replace'}
        </button>
        <button type="button" className="small-button" onClick={done}>
          Close
        </button>
        {error && (
          <span className="ticket-error" data-testid="modify-error" role="alert">
            {error}
          </span>
        )}
      </td>
    </tr>
  );
}

export function OrdersPanel({ orders, loggedIn, cancelOrder, replaceOrder, orderDetail, onSelect }: Props) {
  const [modifying, setModifying] = useState<number | null>(null);
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
      setError(cancelErrorText(id, exc));
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
      <Panel
        className="open-orders"
        label="Open orders"
        title="Open orders"
        head={
          <>
            <span className="muted small">{open.length}</span>
            {error && (
              <span className="down small push-right" role="alert" data-testid="cancel-error">
                {error}
              </span>
            )}
          </>
        }
      >
        <div className="panel-body scroll">
          <Table columns={OPEN_COLUMNS} testid="open-orders" empty={open.length === 0 && (loggedIn ? 'No open orders.' : 'Choose a trader account.')}>
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
                    <Trigger order={o} />
                  </td>
                  <td className="num" data-testid={`order-filled-${o.id}`}>
                    {o.filled_qty}
                  </td>
                  <td className="num muted">{o.filled_avg_price ?? ''}</td>
                  <td className="actions">
                    {canModify(o) && (
                      <button
                        type="button"
                        className="small-button"
                        data-testid={`modify-${o.id}`}
                        onClick={(e) => {
                          e.stopPropagation();
                          setModifying((cur) => (cur === o.id ? null : o.id));
                        }}
                      >
                        Modify
                      </button>
                    )}
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
                {modifying === o.id && (
                  <Modify order={o} cols={OPEN_COLUMNS.length} replace={replaceOrder} done={() => setModifying(null)} />
                )}
                {expanded === o.id && <Detail order={o} load={orderDetail} cols={OPEN_COLUMNS.length} />}
              </Fragment>
            ))}
          </Table>
        </div>
      </Panel>
      <Panel className="order-history" label="Order history" title="Order history" head={<span className="muted small">{closed.length}</span>}>
        <div className="panel-body scroll">
          <Table
            columns={CLOSED_COLUMNS}
            testid="order-history"
            empty={closed.length === 0 && (loggedIn ? 'No finished orders yet.' : 'Choose a trader account.')}
          >
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
                {expanded === o.id && <Detail order={o} load={orderDetail} cols={CLOSED_COLUMNS.length} />}
              </Fragment>
            ))}
          </Table>
        </div>
      </Panel>
    </div>
  );
}

import { useMemo } from 'react';
import { clock, tone } from '../../format';
import type { Roster } from '../../roster';
import type { User } from '../../types';
import type { Detail } from '../../useDashboard';

interface Props {
  detail: Detail | null;
  roster: Roster;
  users: User[];
  onClose(): void;
}

const OPEN = new Set(['pending_new', 'new', 'partially_filled', 'pending_cancel']);

/** One trader's positions, orders and fills (the ledger), live. */
export function TraderDetail({ detail, roster, users, onClose }: Props) {
  const orders = useMemo(
    () => (detail ? Object.values(detail.orders).sort((a, b) => b.id - a.id) : []),
    [detail],
  );
  if (!detail) {
    return (
      <section className="panel trader-detail" aria-label="Trader detail">
        <div className="panel-head">
          <h2>Trader detail</h2>
        </div>
        <div className="empty">Click a trader in the roster to see their orders, fills and positions.</div>
      </section>
    );
  }
  const p = roster[detail.userId];
  const name = p?.name ?? users.find((u) => u.id === detail.userId)?.name ?? `user ${detail.userId}`;
  const fills = (detail.ledger ?? []).filter((e) => e.kind === 'trade' || e.kind === 'commission');
  return (
    <section className="panel trader-detail" aria-label="Trader detail" data-testid="trader-detail">
      <div className="panel-head">
        <h2>Trader</h2>
        <span className="strong" data-testid="detail-name">
          {name}
        </span>
        {p && (
          <span className="muted small">
            cash <b data-testid="detail-cash">{p.cash}</b> · equity <b data-testid="detail-equity">{p.equity}</b> · reserved {p.reserved_cash}
          </span>
        )}
        <button type="button" className="small-button push-right" data-testid="detail-close" onClick={onClose}>
          Close
        </button>
      </div>
      {detail.error && (
        <div className="form-error pad" data-testid="detail-error">
          {detail.error}
        </div>
      )}
      <div className="panel-body detail-body">
        <div className="detail-col scroll">
          <h3>Positions</h3>
          <table className="grid compact">
            <thead>
              <tr>
                <th>Sym</th>
                <th className="num">Qty</th>
                <th className="num">Rsvd</th>
                <th className="num">Avg</th>
                <th className="num">Value</th>
                <th className="num">Unrl</th>
              </tr>
            </thead>
            <tbody>
              {(p?.positions ?? []).map((pos) => (
                <tr key={pos.symbol} data-testid={`detail-position-${pos.symbol}`}>
                  <td className="sym">{pos.symbol}</td>
                  <td className="num" data-testid={`detail-qty-${pos.symbol}`}>
                    {pos.qty}
                  </td>
                  <td className="num muted">{pos.reserved_qty}</td>
                  <td className="num muted">{pos.avg_cost}</td>
                  <td className="num">{pos.market_value}</td>
                  <td className={`num ${tone(pos.unrealized_pl)}`}>{pos.unrealized_pl}</td>
                </tr>
              ))}
              {p && p.positions.length === 0 && (
                <tr>
                  <td colSpan={6} className="empty">
                    No positions.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
          <h3>Fills</h3>
          <table className="grid compact" data-testid="detail-fills">
            <thead>
              <tr>
                <th>Time</th>
                <th>Kind</th>
                <th>Sym</th>
                <th className="num">Qty</th>
                <th className="num">Amount</th>
              </tr>
            </thead>
            <tbody>
              {fills.map((e) => (
                <tr key={e.id} data-testid="detail-fill">
                  <td className="muted" title={e.ts}>{clock(e.ts)}</td>
                  <td>{e.kind}</td>
                  <td className="sym">{e.symbol ?? ''}</td>
                  <td className="num">{e.qty ?? ''}</td>
                  <td className={`num ${tone(e.amount)}`}>{e.amount}</td>
                </tr>
              ))}
              {detail.ledger !== null && fills.length === 0 && (
                <tr>
                  <td colSpan={5} className="empty">
                    No fills.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
        <div className="detail-col scroll">
          <h3>Orders</h3>
          <table className="grid compact" data-testid="detail-orders">
            <thead>
              <tr>
                <th>#</th>
                <th>Sym</th>
                <th>Side</th>
                <th className="num">Qty</th>
                <th className="num">Limit</th>
                <th className="num">Filled</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {orders.map((o) => (
                <tr key={o.id} data-testid={`detail-order-${o.id}`} className={OPEN.has(o.status) ? '' : 'closed'}>
                  <td className="muted">{o.id}</td>
                  <td className="sym">{o.symbol}</td>
                  <td className={o.side === 'buy' ? 'up' : 'down'}>{o.side}</td>
                  <td className="num">{o.qty}</td>
                  <td className="num">{o.limit_price ?? 'mkt'}</td>
                  <td className="num">
                    {o.filled_qty}
                    {o.filled_avg_price ? ` @ ${o.filled_avg_price}` : ''}
                  </td>
                  <td title={o.reject_reason ?? undefined}>
                    <span className={`status status-${o.status}`} data-testid={`detail-order-status-${o.id}`}>
                      {o.status}
                    </span>
                    {o.reject_reason && <span className="muted small"> {o.reject_reason}</span>}
                  </td>
                </tr>
              ))}
              {orders.length === 0 && (
                <tr>
                  <td colSpan={7} className="empty">
                    No orders.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </div>
    </section>
  );
}

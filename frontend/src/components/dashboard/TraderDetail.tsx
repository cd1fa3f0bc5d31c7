import { useMemo } from 'react';
import type { Detail } from '../../dashboardState';
import { clock, tone } from '../../format';
import { isOpen } from '../../orders';
import type { Roster } from '../../roster';
import type { User } from '../../types';
import { Status } from '../cells';
import { Panel } from '../Panel';
import { num, Table } from '../Table';

interface Props {
  detail: Detail | null;
  roster: Roster;
  users: User[];
  onClose(): void;
}

const POSITION_COLUMNS = ['Sym', num('Qty'), num('Rsvd'), num('Avg'), num('Value'), num('Unrl')];
const FILL_COLUMNS = ['Time', 'Kind', 'Sym', num('Qty'), num('Amount')];
const ORDER_COLUMNS = ['#', 'Sym', 'Side', num('Qty'), num('Limit'), num('Filled'), 'Status'];

/** One trader's positions, orders and fills (the ledger), live. */
export function TraderDetail({ detail, roster, users, onClose }: Props) {
  const orders = useMemo(
    () => (detail ? Object.values(detail.orders).sort((a, b) => b.id - a.id) : []),
    [detail],
  );
  if (!detail) {
    return (
      <Panel className="trader-detail" label="Trader detail" title="Trader detail">
        <div className="empty">Click a trader in the roster to see their orders, fills and positions.</div>
      </Panel>
    );
  }
  const p = roster[detail.userId];
  const name = p?.name ?? users.find((u) => u.id === detail.userId)?.name ?? `user ${detail.userId}`;
  const fills = (detail.ledger ?? []).filter((e) => e.kind === 'trade' || e.kind === 'commission');
  const head = (
    <>
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
    </>
  );
  return (
    <Panel className="trader-detail" label="Trader detail" testid="trader-detail" title="Trader" head={head}>
      {detail.error && (
        <div className="form-error pad" data-testid="detail-error">
          {detail.error}
        </div>
      )}
      <div className="panel-body detail-body">
        <div className="detail-col scroll">
          <h3>Positions</h3>
          <Table columns={POSITION_COLUMNS} className="grid compact" empty={p && p.positions.length === 0 && 'No positions.'}>
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
          </Table>
          <h3>Fills</h3>
          <Table columns={FILL_COLUMNS} className="grid compact" testid="detail-fills" empty={detail.ledger !== null && fills.length === 0 && 'No fills.'}>
            {fills.map((e) => (
              <tr key={e.id} data-testid="detail-fill">
                <td className="muted" title={e.ts}>
                  {clock(e.ts)}
                </td>
                <td>{e.kind}</td>
                <td className="sym">{e.symbol ?? ''}</td>
                <td className="num">{e.qty ?? ''}</td>
                <td className={`num ${tone(e.amount)}`}>{e.amount}</td>
              </tr>
            ))}
          </Table>
        </div>
        <div className="detail-col scroll">
          <h3>Orders</h3>
          <Table columns={ORDER_COLUMNS} className="grid compact" testid="detail-orders" empty={orders.length === 0 && 'No orders.'}>
            {orders.map((o) => (
              <tr key={o.id} data-testid={`detail-order-${o.id}`} className={isOpen(o.status) ? '' : 'closed'}>
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
                  <Status status={o.status} testid={`detail-order-status-${o.id}`} />
                  {o.reject_reason && <span className="muted small"> {o.reject_reason}</span>}
                </td>
              </tr>
            ))}
          </Table>
        </div>
      </div>
    </Panel>
  );
}

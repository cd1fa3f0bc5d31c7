import { useMemo, useState } from 'react';
import { pct, tone } from '../../format';
import { positionsSummary, rosterRows, type Roster, type RosterSort } from '../../roster';
import type { User } from '../../types';
import { NameCell } from '../cells';
import { Panel } from '../Panel';
import { num, Table } from '../Table';

interface Props {
  users: User[];
  roster: Roster;
  error: string | null;
  selected: number | null;
  onSelect(userId: number | null): void;
}

const COLUMNS = ['Trader', num('Cash'), 'Positions', num('Equity'), num('Return'), num('Trades')];

/** Every trader (and bot) live: cash, positions, equity, return, trades. Click a row for the details. */
export function RosterPanel({ users, roster, error, selected, onSelect }: Props) {
  const [hideBots, setHideBots] = useState(true);
  const [sort, setSort] = useState<RosterSort>('name');
  const rows = useMemo(() => rosterRows(users, roster, { hideBots, sort }), [users, roster, hideBots, sort]);

  const head = (
    <>
      <span className="muted small" data-testid="roster-count">
        {rows.length} {rows.length === 1 ? 'account' : 'accounts'}
      </span>
      <label className="check push-right small">
        <input type="checkbox" data-testid="roster-hide-bots" checked={hideBots} onChange={(e) => setHideBots(e.target.checked)} />
        hide bots
      </label>
      <label className="inline-field small">
        <span className="muted">sort</span>
        <select data-testid="roster-sort" value={sort} onChange={(e) => setSort(e.target.value as RosterSort)}>
          <option value="name">name</option>
          <option value="equity">equity</option>
          <option value="return">return</option>
          <option value="trades">trades</option>
        </select>
      </label>
    </>
  );

  return (
    <Panel className="roster" label="Class roster" testid="roster" title="Class roster" head={head}>
      <div className="panel-body scroll">
        {error && (
          <div className="form-error pad" data-testid="roster-error">
            {error}
          </div>
        )}
        <Table columns={COLUMNS} className="grid compact" empty={rows.length === 0 && 'No traders yet: create some under Class setup.'}>
          {rows.map(({ user_id: id, name, role, portfolio: p }) => (
            <tr
              key={id}
              data-testid={`roster-row-${id}`}
              className={`clickable ${id === selected ? 'selected' : ''}`}
              tabIndex={0}
              onClick={() => onSelect(id === selected ? null : id)}
              onKeyDown={(e) => e.key === 'Enter' && onSelect(id === selected ? null : id)}
            >
              <NameCell name={name} role={role} />
              <td className="num" data-testid={`roster-cash-${id}`}>
                {p?.cash ?? '…'}
              </td>
              <td className="ellipsis positions-cell muted" data-testid={`roster-positions-${id}`} title={p ? positionsSummary(p.positions) : ''}>
                {p ? positionsSummary(p.positions) || '—' : ''}
              </td>
              <td className="num strong" data-testid={`roster-equity-${id}`}>
                {p?.equity ?? ''}
              </td>
              <td className={`num ${tone(p?.return_pct)}`} data-testid={`roster-return-${id}`}>
                {p ? pct(p.return_pct) : ''}
              </td>
              <td className="num" data-testid={`roster-trades-${id}`}>
                {p?.trades ?? ''}
              </td>
            </tr>
          ))}
        </Table>
      </div>
    </Panel>
  );
}

import { useMemo } from 'react';
import { pct, tone } from '../format';
import { rankLeaderboard } from '../leaderboard';
import type { LeaderRow } from '../types';
import { NameCell } from './cells';
import { Panel } from './Panel';
import { num, Table } from './Table';

interface Props {
  rows: LeaderRow[] | null;
  showBots: boolean;
  /** null: no toggle (the traders' board has no bots in it) */
  onShowBots: ((show: boolean) => void) | null;
  me?: number | null;
  error?: string | null;
}

const COLUMNS = [num('#'), 'Name', num('Equity'), num('Return'), num('Trades')];

/** The class ranked by equity, live. */
export function LeaderboardPanel({ rows, showBots, onShowBots, me, error }: Props) {
  const ranked = useMemo(() => rankLeaderboard(rows ?? [], showBots), [rows, showBots]);
  const toggle = onShowBots && (
    <label className="check push-right small">
      <input type="checkbox" data-testid="leaderboard-show-bots" checked={showBots} onChange={(e) => onShowBots(e.target.checked)} />
      show bots
    </label>
  );
  const empty = rows === null ? !error && 'Loading…' : ranked.length === 0 && 'Nobody to rank yet.';
  return (
    <Panel className="leaderboard" label="Leaderboard" testid="leaderboard" title="Leaderboard" head={toggle}>
      <div className="panel-body scroll">
        {error && <div className="form-error pad">{error}</div>}
        <Table columns={COLUMNS} className="grid compact" empty={empty}>
          {ranked.map((r) => (
            <tr key={r.user_id} data-testid={`leader-row-${r.user_id}`} className={r.user_id === me ? 'selected' : ''}>
              <td className="num muted" data-testid={`leader-rank-${r.user_id}`}>
                {r.rank}
              </td>
              <NameCell name={r.name} role={r.role} />
              <td className="num strong" data-testid={`leader-equity-${r.user_id}`}>
                {r.equity}
              </td>
              <td className={`num ${tone(r.return_pct)}`} data-testid={`leader-return-${r.user_id}`}>
                {pct(r.return_pct)}
              </td>
              <td className="num muted">{r.trades ?? ''}</td>
            </tr>
          ))}
        </Table>
      </div>
    </Panel>
  );
}

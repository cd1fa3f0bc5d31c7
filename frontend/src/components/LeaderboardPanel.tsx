import { useMemo } from 'react';
import { pct, tone } from '../format';
import { rankLeaderboard } from '../leaderboard';
import type { LeaderRow } from '../types';

interface Props {
  rows: LeaderRow[] | null;
  showBots: boolean;
  /** null: no toggle (the traders' board has no bots in it) */
  onShowBots: ((show: boolean) => void) | null;
  me?: number | null;
  error?: string | null;
}

/** The class ranked by equity, live. */
export function LeaderboardPanel({ rows, showBots, onShowBots, me, error }: Props) {
  const ranked = useMemo(() => rankLeaderboard(rows ?? [], showBots), [rows, showBots]);
  return (
    <section className="panel leaderboard" aria-label="Leaderboard" data-testid="leaderboard">
      <div className="panel-head">
        <h2>Leaderboard</h2>
        {onShowBots && (
          <label className="check push-right small">
            <input type="checkbox" data-testid="leaderboard-show-bots" checked={showBots} onChange={(e) => onShowBots(e.target.checked)} />
            show bots
          </label>
        )}
      </div>
      <div className="panel-body scroll">
        {error && <div className="form-error pad">{error}</div>}
        <table className="grid compact">
          <thead>
            <tr>
              <th className="num">#</th>
              <th>Name</th>
              <th className="num">Equity</th>
              <th className="num">Return</th>
              <th className="num">Trades</th>
            </tr>
          </thead>
          <tbody>
            {ranked.map((r) => (
              <tr key={r.user_id} data-testid={`leader-row-${r.user_id}`} className={r.user_id === me ? 'selected' : ''}>
                <td className="num muted" data-testid={`leader-rank-${r.user_id}`}>
                  {r.rank}
                </td>
                <td className="ellipsis name-cell" title={r.name}>
                  {r.name}
                  {r.role === 'bot' && <span className="tag">bot</span>}
                </td>
                <td className="num strong" data-testid={`leader-equity-${r.user_id}`}>
                  {r.equity}
                </td>
                <td className={`num ${tone(r.return_pct)}`} data-testid={`leader-return-${r.user_id}`}>
                  {pct(r.return_pct)}
                </td>
                <td className="num muted">{r.trades ?? ''}</td>
              </tr>
            ))}
            {rows !== null && ranked.length === 0 && (
              <tr>
                <td colSpan={5} className="empty">
                  Nobody to rank yet.
                </td>
              </tr>
            )}
            {rows === null && !error && (
              <tr>
                <td colSpan={5} className="empty">
                  Loading…
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

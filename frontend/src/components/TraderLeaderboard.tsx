import { useEffect } from 'react';
import type { LeaderRow } from '../types';
import { LeaderboardPanel } from './LeaderboardPanel';

interface Props {
  rows: LeaderRow[] | null;
  error: string | null;
  me: number | null;
  /** keeps the rows loaded while the drop-down is open; returns the stop */
  watch(): () => void;
}

/** The class leaderboard for a trader (a drop-down from the header): REST on open, then `leaderboard` pushes. */
export function TraderLeaderboard({ rows, error, me, watch }: Props) {
  useEffect(() => watch(), [watch]);

  return (
    <div className="popover" data-testid="trader-leaderboard">
      <LeaderboardPanel rows={rows} showBots={false} onShowBots={null} me={me} error={error} />
    </div>
  );
}

import { useEffect, useState } from 'react';
import type { LeaderRow } from '../types';
import { message } from '../useDashboard';
import type { Exchange } from '../useExchange';
import { LeaderboardPanel } from './LeaderboardPanel';

/** The class leaderboard for a trader (a drop-down from the header): REST on open, then `leaderboard` pushes. */
export function TraderLeaderboard({ ex, me }: { ex: Exchange; me: number | null }) {
  const [rows, setRows] = useState<LeaderRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { api, listen } = ex;

  useEffect(() => {
    let live = true;
    const load = () =>
      api.leaderboard(false).then(
        (r) => live && (setRows(r), setError(null)),
        (exc: unknown) => live && setError(message(exc)),
      );
    void load();
    const stop = listen((event, data) => {
      if (event === 'leaderboard' && Array.isArray(data)) setRows(data as LeaderRow[]);
      else if (event === 'connect' || event === 'reset') void load();
    });
    return () => {
      live = false;
      stop();
    };
  }, [api, listen]);

  return (
    <div className="popover" data-testid="trader-leaderboard">
      <LeaderboardPanel rows={rows} showBots={false} onShowBots={null} me={me} error={error} />
    </div>
  );
}

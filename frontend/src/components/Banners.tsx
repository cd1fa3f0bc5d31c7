import type { Connection } from '../state';
import type { MarketStatus } from '../types';

export function Banners({ market, connection }: { market: MarketStatus | null; connection: Connection }) {
  return (
    <>
      {market && market !== 'open' && (
        <div className={`banner banner-${market}`} data-testid="market-banner" role="status">
          <strong>Market {market}.</strong> New orders are refused until it opens again; you can still cancel open orders.
        </div>
      )}
      {connection === 'disconnected' && (
        <div className="banner banner-connection" data-testid="connection-banner" role="status">
          <span className="spinner" aria-hidden="true" />
          <strong>Connection lost - reconnecting…</strong> Live updates are paused; the screen refreshes every few seconds.
        </div>
      )}
    </>
  );
}

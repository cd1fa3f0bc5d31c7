import { clock, int } from '../format';
import { compareDecimal } from '../money';
import type { Trade } from '../types';

export function TradeTape({ trades, symbol }: { trades: Trade[]; symbol: string }) {
  return (
    <section className="panel tape" aria-label="Trade tape">
      <div className="panel-head">
        <h2>Trades</h2>
        <span className="muted small">{symbol}</span>
      </div>
      <div className="panel-body scroll">
        <table className="grid compact" data-testid="tape">
          <thead>
            <tr>
              <th>Time</th>
              <th className="num">Price</th>
              <th className="num">Qty</th>
            </tr>
          </thead>
          <tbody>
            {trades.map((t, i) => {
              const older = trades[i + 1];
              const c = older ? compareDecimal(t.price, older.price) : 0;
              return (
                <tr key={t.seq} data-testid="tape-row">
                  <td className="muted">{clock(t.ts)}</td>
                  <td className={`num ${c && c > 0 ? 'up' : c && c < 0 ? 'down' : ''}`}>{t.price}</td>
                  <td className="num">{int(t.qty)}</td>
                </tr>
              );
            })}
            {trades.length === 0 && (
              <tr>
                <td colSpan={3} className="empty">
                  No trades yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

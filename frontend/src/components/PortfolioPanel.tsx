import { tone } from '../format';
import type { Portfolio } from '../types';

interface Props {
  portfolio: Portfolio | null;
  loggedIn: boolean;
  selected: string;
  onSelect(symbol: string): void;
}

function Money({ value, testid, signed }: { value: string | undefined; testid?: string; signed?: boolean }) {
  if (value === undefined) return <span className="muted">—</span>;
  return (
    <span className={signed ? tone(value) : undefined}>
      {!signed && <span className="cur">$</span>}
      <span data-testid={testid}>{value}</span>
    </span>
  );
}

export function PortfolioPanel({ portfolio, loggedIn, selected, onSelect }: Props) {
  const p = portfolio;
  return (
    <section className="panel portfolio" aria-label="Portfolio">
      <div className="panel-head">
        <h2>Portfolio</h2>
        {p?.name && <span className="muted small">{p.name}</span>}
      </div>
      <div className="panel-body scroll">
        {!loggedIn && <div className="empty">Choose a trader account to see a portfolio.</div>}
        {loggedIn && (
          <>
            <dl className="metrics">
              <div className="metric">
                <dt>Equity</dt>
                <dd className="big">
                  <Money value={p?.equity} testid="portfolio-equity" />
                </dd>
              </div>
              <div className="metric">
                <dt>Buying power</dt>
                <dd className="big">
                  <Money value={p?.buying_power} testid="portfolio-buying-power" />
                </dd>
              </div>
              <div className="metric">
                <dt>Cash</dt>
                <dd>
                  <Money value={p?.cash} testid="portfolio-cash" />
                </dd>
              </div>
              <div className="metric">
                <dt>Reserved cash</dt>
                <dd>
                  <Money value={p?.reserved_cash} testid="portfolio-reserved" />
                </dd>
              </div>
              <div className="metric">
                <dt>Realized P&amp;L</dt>
                <dd>
                  <Money value={p?.realized_pl} testid="portfolio-realized" signed />
                </dd>
              </div>
              <div className="metric">
                <dt>Unrealized P&amp;L</dt>
                <dd>
                  <Money value={p?.unrealized_pl} testid="portfolio-unrealized" signed />
                </dd>
              </div>
            </dl>
            <table className="grid positions" data-testid="positions">
              <thead>
                <tr>
                  <th>Symbol</th>
                  <th className="num">Qty</th>
                  <th className="num" title="Shares held by open sell orders">
                    Rsvd
                  </th>
                  <th className="num">Avg cost</th>
                  <th className="num">Last</th>
                  <th className="num">Value</th>
                  <th className="num">Unrl P&amp;L</th>
                </tr>
              </thead>
              <tbody>
                {p?.positions.map((pos) => (
                  <tr
                    key={pos.symbol}
                    data-testid={`position-${pos.symbol}`}
                    className={`clickable ${pos.symbol === selected ? 'selected' : ''}`}
                    onClick={() => onSelect(pos.symbol)}
                  >
                    <td className="sym">{pos.symbol}</td>
                    <td className="num" data-testid={`position-qty-${pos.symbol}`}>
                      {pos.qty}
                    </td>
                    <td className="num muted" data-testid={`position-reserved-${pos.symbol}`}>
                      {pos.reserved_qty}
                    </td>
                    <td className="num muted">{pos.avg_cost}</td>
                    <td className="num">{pos.last_price}</td>
                    <td className="num" data-testid={`position-value-${pos.symbol}`}>
                      {pos.market_value}
                    </td>
                    <td className={`num ${tone(pos.unrealized_pl)}`} data-testid={`position-pl-${pos.symbol}`}>
                      {pos.unrealized_pl}
                    </td>
                  </tr>
                ))}
                {p && p.positions.length === 0 && (
                  <tr>
                    <td colSpan={7} className="empty">
                      No positions yet.
                    </td>
                  </tr>
                )}
                {!p && (
                  <tr>
                    <td colSpan={7} className="empty">
                      Loading…
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </>
        )}
      </div>
    </section>
  );
}

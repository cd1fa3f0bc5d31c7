import { tone } from '../format';
import type { Portfolio } from '../types';
import { Panel } from './Panel';
import { num, Table } from './Table';

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

function Metric({ label, big, ...money }: { label: string; big?: boolean; value: string | undefined; testid: string; signed?: boolean }) {
  return (
    <div className="metric">
      <dt>{label}</dt>
      <dd className={big ? 'big' : undefined}>
        <Money {...money} />
      </dd>
    </div>
  );
}

const COLUMNS = [
  'Symbol',
  num('Qty'),
  num('Rsvd', 'Shares held by open sell orders'),
  num('Avg cost'),
  num('Last'),
  num('Value'),
  num('Unrl P&L'),
];

export function PortfolioPanel({ portfolio, loggedIn, selected, onSelect }: Props) {
  const p = portfolio;
  return (
    <Panel className="portfolio" label="Portfolio" title="Portfolio" head={p?.name && <span className="muted small">{p.name}</span>}>
      <div className="panel-body scroll">
        {!loggedIn && <div className="empty">Choose a trader account to see a portfolio.</div>}
        {loggedIn && (
          <>
            <dl className="metrics">
              <Metric label="Equity" big value={p?.equity} testid="portfolio-equity" />
              <Metric label="Buying power" big value={p?.buying_power} testid="portfolio-buying-power" />
              <Metric label="Cash" value={p?.cash} testid="portfolio-cash" />
              <Metric label="Reserved cash" value={p?.reserved_cash} testid="portfolio-reserved" />
              <Metric label="Realized P&L" value={p?.realized_pl} testid="portfolio-realized" signed />
              <Metric label="Unrealized P&L" value={p?.unrealized_pl} testid="portfolio-unrealized" signed />
            </dl>
            <Table columns={COLUMNS} className="grid positions" testid="positions" empty={!p ? 'Loading…' : p.positions.length === 0 && 'No positions yet.'}>
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
            </Table>
          </>
        )}
      </div>
    </Panel>
  );
}

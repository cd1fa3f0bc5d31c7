import { int, pct, tone } from '../format';
import type { Flash } from '../state';
import type { Stock } from '../types';
import { Panel } from './Panel';
import { num, Table } from './Table';

interface Props {
  stocks: Stock[];
  flash: Record<string, Flash>;
  selected: string;
  onSelect(symbol: string): void;
}

const COLUMNS = ['Symbol', num('Last'), num('Chg'), num('Volume')];

export function MarketWatch({ stocks, flash, selected, onSelect }: Props) {
  return (
    <Panel className="watch" label="Market watch" title="Market watch" head={<span className="muted small">{stocks.length} listed</span>}>
      <div className="panel-body scroll">
        <Table columns={COLUMNS} testid="market-watch" empty={stocks.length === 0 && 'Loading stocks…'}>
          {stocks.map((s) => {
            const f = flash[s.symbol];
            const cls = ['clickable', s.symbol === selected ? 'selected' : '', f ? `flash-${f.dir}-${f.n % 2}` : '']
              .filter(Boolean)
              .join(' ');
            return (
              <tr
                key={s.symbol}
                data-testid={`watch-${s.symbol}`}
                className={cls}
                onClick={() => onSelect(s.symbol)}
                onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && onSelect(s.symbol)}
                tabIndex={0}
                aria-selected={s.symbol === selected}
              >
                <td>
                  <div className="sym">{s.symbol}</div>
                  <div className="muted tiny ellipsis" title={s.name}>
                    {s.name}
                  </div>
                </td>
                <td className="num strong" data-testid={`watch-last-${s.symbol}`}>
                  {s.last_price}
                </td>
                <td className={`num ${tone(s.change_pct)}`} data-testid={`watch-change-${s.symbol}`}>
                  {pct(s.change_pct)}
                </td>
                <td className="num muted">{int(s.volume)}</td>
              </tr>
            );
          })}
        </Table>
      </div>
    </Panel>
  );
}

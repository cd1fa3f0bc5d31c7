import { clock, int } from '../format';
import { compareDecimal } from '../money';
import type { Trade } from '../types';
import { Panel } from './Panel';
import { num, Table } from './Table';

const COLUMNS = ['Time', num('Price'), num('Qty')];

export function TradeTape({ trades, symbol }: { trades: Trade[]; symbol: string }) {
  return (
    <Panel className="tape" label="Trade tape" title="Trades" head={<span className="muted small">{symbol}</span>}>
      <div className="panel-body scroll">
        <Table columns={COLUMNS} className="grid compact" testid="tape" empty={trades.length === 0 && 'No trades yet.'}>
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
        </Table>
      </div>
    </Panel>
  );
}

import { useState } from 'react';
import type { DashboardCommands } from '../../commands';
import { isAmount } from '../../csv';
import type { Stock } from '../../types';
import { Form, Messages } from '../forms';
import { num, Table } from '../Table';
import { useTask } from '../useTask';

interface Props {
  commands: DashboardCommands;
  stocks: Stock[];
}

const COLUMNS = ['Symbol', 'Name', num('Ref'), num('Last'), ''];

/** List a stock with its reference price; delist one (its resting orders are canceled). */
export function StocksForm({ commands, stocks }: Props) {
  const [symbol, setSymbol] = useState('');
  const [name, setName] = useState('');
  const [price, setPrice] = useState('');
  const [confirm, setConfirm] = useState<string | null>(null);
  const task = useTask();
  const busy = task.busy;
  // delisted here (GET /api/stocks no longer lists them), offered for relisting
  const [gone, setGone] = useState<Stock[]>([]);

  const run = (fn: () => Promise<void>, done: string) =>
    task.run(async () => {
      await fn();
      return done;
    });

  const list = async () => {
    const sym = symbol.trim().toUpperCase();
    if (!/^[A-Z0-9]{1,8}$/.test(sym)) return task.fail('symbol: 1 to 8 letters or digits');
    if (!isAmount(price) || Number(price) <= 0) return task.fail('reference price: an amount above 0, like 125.50');
    const ok = await run(() => commands.listStock(sym, name.trim() || sym, price.trim()), `listed ${sym}`);
    if (ok) {
      setSymbol('');
      setName('');
      setPrice('');
    }
  };

  return (
    <div className="setup-form" data-testid="stocks-form">
      <Table columns={COLUMNS} className="grid compact">
        {stocks.map((s) => (
          <tr key={s.symbol} data-testid={`stock-row-${s.symbol}`}>
            <td className="sym">{s.symbol}</td>
            <td className="ellipsis name-cell muted" title={s.name}>
              {s.name}
            </td>
            <td className="num">{s.reference_price}</td>
            <td className="num">{s.last_price}</td>
            <td className="actions">
              {confirm === s.symbol ? (
                <>
                  <button
                    type="button"
                    className="small-button danger solid"
                    data-testid={`delist-confirm-${s.symbol}`}
                    disabled={busy}
                    onClick={() => {
                      setConfirm(null);
                      void run(() => commands.delistStock(s.symbol), `delisted ${s.symbol}`).then(
                        (ok) => ok && setGone((g) => [...g.filter((x) => x.symbol !== s.symbol), s]),
                      );
                    }}
                  >
                    Delist
                  </button>{' '}
                  <button type="button" className="small-button" onClick={() => setConfirm(null)}>
                    Keep
                  </button>
                </>
              ) : (
                <button type="button" className="small-button" data-testid={`delist-${s.symbol}`} disabled={busy} onClick={() => setConfirm(s.symbol)}>
                  Delist…
                </button>
              )}
            </td>
          </tr>
        ))}
      </Table>
      {gone.length > 0 && (
        <div className="form-actions small">
          <span className="muted">delisted:</span>
          {gone.map((s) => (
            <button
              key={s.symbol}
              type="button"
              className="small-button"
              data-testid={`relist-${s.symbol}`}
              title={`List ${s.symbol} again at ${s.reference_price}`}
              disabled={busy}
              onClick={() =>
                void run(() => commands.listStock(s.symbol, s.name, s.reference_price), `relisted ${s.symbol}`).then(
                  (ok) => ok && setGone((g) => g.filter((x) => x.symbol !== s.symbol)),
                )
              }
            >
              relist {s.symbol}
            </button>
          ))}
        </div>
      )}
      <Form className="form-grid" onSubmit={() => void list()}>
        <label>
          <span>symbol</span>
          <input data-testid="new-stock-symbol" value={symbol} placeholder="ACME" onChange={(e) => setSymbol(e.target.value.toUpperCase())} />
        </label>
        <label>
          <span>reference price</span>
          <input data-testid="new-stock-price" inputMode="decimal" value={price} placeholder="50.00" onChange={(e) => setPrice(e.target.value)} />
        </label>
        <label className="wide">
          <span>name</span>
          <input data-testid="new-stock-name" value={name} placeholder="Acme Corp." onChange={(e) => setName(e.target.value)} />
        </label>
        <div className="wide form-actions">
          <button type="submit" className="small-button primary" data-testid="list-stock" disabled={busy}>
            List stock
          </button>
          <span className="muted small">listing a delisted symbol again relists it</span>
        </div>
      </Form>
      <Messages as="div" error={task.error} note={task.note} error_testid="stocks-error" note_testid="stocks-status" />
    </div>
  );
}

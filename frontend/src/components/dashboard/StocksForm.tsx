import { useState } from 'react';
import type { Api } from '../../api';
import { isAmount } from '../../csv';
import type { Stock } from '../../types';
import { message } from '../../useDashboard';

interface Props {
  api: Api;
  stocks: Stock[];
  /** refetch the stock list (a delisting has no push of its own) */
  onChanged(): void;
}

/** List a stock with its reference price; delist one (its resting orders are canceled). */
export function StocksForm({ api, stocks, onChanged }: Props) {
  const [symbol, setSymbol] = useState('');
  const [name, setName] = useState('');
  const [price, setPrice] = useState('');
  const [busy, setBusy] = useState(false);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  // delisted here (GET /api/stocks no longer lists them), offered for relisting
  const [gone, setGone] = useState<Stock[]>([]);

  const run = async (fn: () => Promise<unknown>, done: string) => {
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      await fn();
      setNote(done);
      onChanged();
      return true;
    } catch (exc) {
      setError(message(exc));
      return false;
    } finally {
      setBusy(false);
    }
  };

  const list = async () => {
    const sym = symbol.trim().toUpperCase();
    if (!/^[A-Z0-9]{1,8}$/.test(sym)) return setError('symbol: 1 to 8 letters or digits');
    if (!isAmount(price) || Number(price) <= 0) return setError('reference price: an amount above 0, like 125.50');
    const ok = await run(() => api.listStock(sym, name.trim() || sym, price.trim()), `listed ${sym}`);
    if (ok) {
      setSymbol('');
      setName('');
      setPrice('');
    }
  };

  return (
    <div className="setup-form" data-testid="stocks-form">
      <table className="grid compact">
        <thead>
          <tr>
            <th>Symbol</th>
            <th>Name</th>
            <th className="num">Ref</th>
            <th className="num">Last</th>
            <th />
          </tr>
        </thead>
        <tbody>
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
                        void run(() => api.delistStock(s.symbol), `delisted ${s.symbol}`).then(
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
        </tbody>
      </table>
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
                void run(() => api.listStock(s.symbol, s.name, s.reference_price), `relisted ${s.symbol}`).then(
                  (ok) => ok && setGone((g) => g.filter((x) => x.symbol !== s.symbol)),
                )
              }
            >
              relist {s.symbol}
            </button>
          ))}
        </div>
      )}
      <form
        className="form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          void list();
        }}
      >
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
      </form>
      {error && (
        <div className="form-error" data-testid="stocks-error">
          {error}
        </div>
      )}
      {note && (
        <div className="form-ok" data-testid="stocks-status">
          {note}
        </div>
      )}
    </div>
  );
}

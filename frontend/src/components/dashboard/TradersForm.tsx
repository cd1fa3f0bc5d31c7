import { useMemo, useState } from 'react';
import type { Api } from '../../api';
import { isAmount, parseHoldings, previewRoster } from '../../csv';
import type { BulkUsersRequest } from '../../types';
import { message } from '../../useDashboard';

export interface TraderDefaults {
  prefix: string;
  cash: string;
  holdings: string;
}

interface Props {
  api: Api;
  defaults: TraderDefaults;
  onDefaults(d: TraderDefaults): void;
}

/** Create traders in bulk: N named "<prefix> k", or one per line of a CSV file. */
export function TradersForm({ api, defaults, onDefaults }: Props) {
  const [mode, setMode] = useState<'count' | 'csv'>('count');
  const [count, setCount] = useState('10');
  const [csv, setCsv] = useState('');
  const [fileName, setFileName] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const preview = useMemo(() => (mode === 'csv' && csv.trim() ? previewRoster(csv) : null), [mode, csv]);
  const holdings = parseHoldings(defaults.holdings);

  const set = (key: keyof TraderDefaults, value: string) => onDefaults({ ...defaults, [key]: value });

  const submit = async () => {
    setError(null);
    setNote(null);
    if (!isAmount(defaults.cash)) return setError('starting cash: an amount like 100000 or 2500.50');
    if ('error' in holdings) return setError(`holdings: ${holdings.error}`);
    const body: BulkUsersRequest = { starting_cash: defaults.cash.trim(), holdings: holdings.holdings };
    if (mode === 'count') {
      const n = Number(count);
      if (!/^\d+$/.test(count.trim()) || n < 1 || n > 500) return setError('count: 1 to 500 traders');
      if (!defaults.prefix.trim()) return setError('prefix: the traders are named "<prefix> 1", "<prefix> 2", …');
      body.count = n;
      body.prefix = defaults.prefix.trim();
    } else {
      if (!preview) return setError('choose a CSV file or paste its text');
      if (preview.errors.length) return setError(preview.errors[0]);
      body.csv = csv;
    }
    setBusy(true);
    try {
      const created = await api.bulkUsers(body);
      const names = created.map((u) => u.name);
      setNote(
        `created ${created.length} trader${created.length === 1 ? '' : 's'}` +
          (names.length ? `: ${names.slice(0, 3).join(', ')}${names.length > 3 ? ` … ${names[names.length - 1]}` : ''}` : ''),
      );
    } catch (exc) {
      setError(message(exc));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="setup-form"
      data-testid="bulk-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <div className="segmented">
        <button type="button" className={mode === 'count' ? 'active' : ''} data-testid="bulk-mode-count" onClick={() => setMode('count')}>
          By count
        </button>
        <button type="button" className={mode === 'csv' ? 'active' : ''} data-testid="bulk-mode-csv" onClick={() => setMode('csv')}>
          From CSV
        </button>
      </div>
      <div className="form-grid">
        {mode === 'count' && (
          <>
            <label>
              <span>count</span>
              <input data-testid="bulk-count" inputMode="numeric" value={count} onChange={(e) => setCount(e.target.value)} />
            </label>
            <label>
              <span>name prefix</span>
              <input data-testid="bulk-prefix" value={defaults.prefix} onChange={(e) => set('prefix', e.target.value)} />
            </label>
          </>
        )}
        <label>
          <span>starting cash</span>
          <input
            data-testid="bulk-cash"
            inputMode="decimal"
            value={defaults.cash}
            aria-invalid={!isAmount(defaults.cash)}
            onChange={(e) => set('cash', e.target.value)}
          />
        </label>
        <label title="Shares every new trader starts with, e.g. AAPL=10, MSFT=5">
          <span>holdings</span>
          <input
            data-testid="bulk-holdings"
            placeholder="AAPL=10, MSFT=5"
            value={defaults.holdings}
            aria-invalid={'error' in holdings}
            onChange={(e) => set('holdings', e.target.value)}
          />
        </label>
        {mode === 'csv' && (
          <>
            <label className="wide">
              <span>CSV file</span>
              <input
                type="file"
                accept=".csv,text/csv,text/plain"
                data-testid="bulk-csv-file"
                onChange={(e) => {
                  const file = e.target.files?.[0];
                  if (!file) return;
                  setFileName(file.name);
                  void file.text().then(setCsv);
                }}
              />
            </label>
            <label className="wide">
              <span>
                or paste: <code>name,starting_cash,AAPL</code> (empty cell = the default above){fileName ? ` · ${fileName}` : ''}
              </span>
              <textarea
                data-testid="bulk-csv-text"
                rows={4}
                spellCheck={false}
                value={csv}
                placeholder={'name,starting_cash,AAPL\nAnn,50000,10\nBo,,'}
                onChange={(e) => setCsv(e.target.value)}
              />
            </label>
          </>
        )}
      </div>
      {preview && (
        <div className="csv-preview" data-testid="bulk-preview">
          <div className="muted small">
            {preview.rows.length} trader{preview.rows.length === 1 ? '' : 's'}
            {preview.symbols.length ? ` · holdings in ${preview.symbols.join(', ')}` : ''}
          </div>
          {preview.errors.length > 0 && (
            <ul className="form-error small" data-testid="bulk-preview-errors">
              {preview.errors.slice(0, 5).map((e) => (
                <li key={e}>{e}</li>
              ))}
              {preview.errors.length > 5 && <li>… {preview.errors.length - 5} more</li>}
            </ul>
          )}
          <table className="grid compact">
            <thead>
              <tr>
                <th className="num">Line</th>
                <th>Name</th>
                <th className="num">Cash</th>
                <th>Holdings</th>
              </tr>
            </thead>
            <tbody>
              {preview.rows.slice(0, 8).map((r) => (
                <tr key={r.line}>
                  <td className="num muted">{r.line}</td>
                  <td>{r.name}</td>
                  <td className="num">{r.starting_cash ?? <span className="muted">{defaults.cash}</span>}</td>
                  <td className="muted">
                    {Object.entries(r.holdings)
                      .map(([s, n]) => `${s} ${n}`)
                      .join(' · ')}
                  </td>
                </tr>
              ))}
              {preview.rows.length > 8 && (
                <tr>
                  <td colSpan={4} className="muted">
                    … {preview.rows.length - 8} more
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
      <div className="form-actions">
        <button type="submit" className="small-button primary" data-testid="bulk-submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create traders'}
        </button>
        {error && (
          <span className="form-error" data-testid="bulk-error">
            {error}
          </span>
        )}
        {note && (
          <span className="form-ok" data-testid="bulk-status">
            {note}
          </span>
        )}
      </div>
    </form>
  );
}

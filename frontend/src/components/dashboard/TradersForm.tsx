import { useMemo, useState } from 'react';
import type { DashboardCommands } from '../../commands';
import { isAmount, parseHoldings, previewRoster } from '../../csv';
import type { BulkUsersRequest } from '../../types';
import { Form, Messages } from '../forms';
import { NoteRow, num, Table } from '../Table';
import { useTask } from '../useTask';

export interface TraderDefaults {
  prefix: string;
  cash: string;
  holdings: string;
}

interface Props {
  commands: DashboardCommands;
  defaults: TraderDefaults;
  onDefaults(d: TraderDefaults): void;
}

const PREVIEW_COLUMNS = [num('Line'), 'Name', num('Cash'), 'Holdings'];

/** Create traders in bulk: N named "<prefix> k", or one per line of a CSV file. */
export function TradersForm({ commands, defaults, onDefaults }: Props) {
  const [mode, setMode] = useState<'count' | 'csv'>('count');
  const [count, setCount] = useState('10');
  const [csv, setCsv] = useState('');
  const [fileName, setFileName] = useState<string | null>(null);
  const task = useTask();
  const preview = useMemo(() => (mode === 'csv' && csv.trim() ? previewRoster(csv) : null), [mode, csv]);
  const holdings = parseHoldings(defaults.holdings);

  const set = (key: keyof TraderDefaults, value: string) => onDefaults({ ...defaults, [key]: value });

  const submit = async () => {
    task.clear();
    if (!isAmount(defaults.cash)) return task.fail('starting cash: an amount like 100000 or 2500.50');
    if ('error' in holdings) return task.fail(`holdings: ${holdings.error}`);
    const body: BulkUsersRequest = { starting_cash: defaults.cash.trim(), holdings: holdings.holdings };
    if (mode === 'count') {
      const n = Number(count);
      if (!/^\d+$/.test(count.trim()) || n < 1 || n > 500) return task.fail('count: 1 to 500 traders');
      if (!defaults.prefix.trim()) return task.fail('prefix: the traders are named "<prefix> 1", "<prefix> 2", …');
      body.count = n;
      body.prefix = defaults.prefix.trim();
    } else {
      if (!preview) return task.fail('choose a CSV file or paste its text');
      if (preview.errors.length) return task.fail(preview.errors[0]);
      body.csv = csv;
    }
    await task.run(async () => {
      const created = await commands.createTraders(body);
      const names = created.map((u) => u.name);
      return (
        `created ${created.length} trader${created.length === 1 ? '' : 's'}` +
        (names.length ? `: ${names.slice(0, 3).join(', ')}${names.length > 3 ? ` … ${names[names.length - 1]}` : ''}` : '')
      );
    });
  };

  return (
    <Form className="setup-form" testid="bulk-form" onSubmit={() => void submit()}>
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
          <Table columns={PREVIEW_COLUMNS} className="grid compact">
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
              <NoteRow cols={PREVIEW_COLUMNS.length} className="muted">
                … {preview.rows.length - 8} more
              </NoteRow>
            )}
          </Table>
        </div>
      )}
      <div className="form-actions">
        <button type="submit" className="small-button primary" data-testid="bulk-submit" disabled={task.busy}>
          {task.busy ? 'Creating…' : 'Create traders'}
        </button>
        <Messages error={task.error} note={task.note} error_testid="bulk-error" note_testid="bulk-status" />
      </div>
    </Form>
  );
}

import { useEffect, useState } from 'react';
import type { Api } from '../../api';
import { isAmount } from '../../csv';
import type { Settings } from '../../types';
import { message } from '../../useDashboard';

interface Props {
  api: Api;
  settings: Settings | null;
  onSettings(s: Settings): void;
}

interface Form {
  commission: string;
  maxPosition: string;
  maxOrder: string;
}

function toForm(s: Settings | null): Form {
  return {
    commission: s?.commission_per_share ?? '0.00',
    maxPosition: s?.max_position === null || s?.max_position === undefined ? '' : String(s.max_position),
    maxOrder: s?.max_order_qty === null || s?.max_order_qty === undefined ? '' : String(s.max_order_qty),
  };
}

function limit(text: string): number | null | 'bad' {
  const t = text.trim();
  if (!t) return null;
  return /^\d+$/.test(t) && Number(t) >= 1 ? Number(t) : 'bad';
}

/** Commission per share (both sides of a trade), max position, max order size (empty = no limit). */
export function SettingsForm({ api, settings, onSettings }: Props) {
  const [form, setForm] = useState<Form>(() => toForm(settings));
  const [dirty, setDirty] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const key = JSON.stringify(settings);

  useEffect(() => {
    if (!dirty) setForm(toForm(settings));
  }, [key, dirty, settings]);

  const set = (k: keyof Form, v: string) => {
    setForm((f) => ({ ...f, [k]: v }));
    setDirty(true);
  };

  const save = async () => {
    setError(null);
    setNote(null);
    if (!isAmount(form.commission)) return setError('commission: an amount per share, like 0.01 (0 for none)');
    const maxPosition = limit(form.maxPosition);
    const maxOrder = limit(form.maxOrder);
    if (maxPosition === 'bad') return setError('max position: a whole number of shares, or empty for no limit');
    if (maxOrder === 'bad') return setError('max order size: a whole number of shares, or empty for no limit');
    setBusy(true);
    try {
      const saved = await api.putSettings({
        commission_per_share: form.commission.trim(),
        max_position: maxPosition,
        max_order_qty: maxOrder,
      });
      onSettings(saved);
      setDirty(false);
      setNote('saved');
    } catch (exc) {
      setError(message(exc));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="setup-form"
      data-testid="settings-form"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <div className="form-grid">
        <label title="Charged to both buyer and seller of each trade, credited to the house">
          <span>commission / share</span>
          <input data-testid="settings-commission" inputMode="decimal" value={form.commission} onChange={(e) => set('commission', e.target.value)} />
        </label>
        <label title="Most shares of one stock a trader may hold (empty: no limit)">
          <span>max position</span>
          <input data-testid="settings-max-position" inputMode="numeric" placeholder="no limit" value={form.maxPosition} onChange={(e) => set('maxPosition', e.target.value)} />
        </label>
        <label title="Most shares in one order (empty: no limit)">
          <span>max order size</span>
          <input data-testid="settings-max-order" inputMode="numeric" placeholder="no limit" value={form.maxOrder} onChange={(e) => set('maxOrder', e.target.value)} />
        </label>
      </div>
      <div className="form-actions">
        <button type="submit" className="small-button primary" data-testid="settings-save" disabled={busy || !dirty}>
          Save settings
        </button>
        {dirty && (
          <button
            type="button"
            className="small-button"
            onClick={() => {
              setDirty(false);
              setForm(toForm(settings));
            }}
          >
            Undo
          </button>
        )}
        {error && (
          <span className="form-error" data-testid="settings-error">
            {error}
          </span>
        )}
        {note && !dirty && (
          <span className="form-ok" data-testid="settings-status">
            {note}
          </span>
        )}
      </div>
      <p className="muted small" data-testid="settings-current">
        {settings
          ? `now: commission ${settings.commission_per_share}/share · max position ${settings.max_position ?? 'none'} · max order ${settings.max_order_qty ?? 'none'}`
          : 'loading…'}
      </p>
    </form>
  );
}

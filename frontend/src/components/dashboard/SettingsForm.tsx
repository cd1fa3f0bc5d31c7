import { useEffect, useState } from 'react';
import type { DashboardCommands } from '../../commands';
import { isAmount } from '../../csv';
import type { Settings } from '../../types';
import { Form, Messages } from '../forms';
import { useTask } from '../useTask';

interface Props {
  commands: DashboardCommands;
  settings: Settings | null;
}

interface Fields {
  commission: string;
  maxPosition: string;
  maxOrder: string;
}

function toFields(s: Settings | null): Fields {
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
export function SettingsForm({ commands, settings }: Props) {
  const [form, setForm] = useState<Fields>(() => toFields(settings));
  const [dirty, setDirty] = useState(false);
  const task = useTask();
  const key = JSON.stringify(settings);

  useEffect(() => {
    if (!dirty) setForm(toFields(settings));
  }, [key, dirty, settings]);

  const set = (k: keyof Fields, v: string) => {
    setForm((f) => ({ ...f, [k]: v }));
    setDirty(true);
  };

  const save = async () => {
    task.clear();
    if (!isAmount(form.commission)) return task.fail('commission: an amount per share, like 0.01 (0 for none)');
    const maxPosition = limit(form.maxPosition);
    const maxOrder = limit(form.maxOrder);
    if (maxPosition === 'bad') return task.fail('max position: a whole number of shares, or empty for no limit');
    if (maxOrder === 'bad') return task.fail('max order size: a whole number of shares, or empty for no limit');
    await task.run(async () => {
      await commands.saveSettings({ commission_per_share: form.commission.trim(), max_position: maxPosition, max_order_qty: maxOrder });
      setDirty(false);
      return 'saved';
    });
  };

  return (
    <Form className="setup-form" testid="settings-form" onSubmit={() => void save()}>
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
        <button type="submit" className="small-button primary" data-testid="settings-save" disabled={task.busy || !dirty}>
          Save settings
        </button>
        {dirty && (
          <button
            type="button"
            className="small-button"
            onClick={() => {
              setDirty(false);
              setForm(toFields(settings));
            }}
          >
            Undo
          </button>
        )}
        <Messages error={task.error} note={dirty ? null : task.note} error_testid="settings-error" note_testid="settings-status" />
      </div>
      <p className="muted small" data-testid="settings-current">
        {settings
          ? `now: commission ${settings.commission_per_share}/share · max position ${settings.max_position ?? 'none'} · max order ${settings.max_order_qty ?? 'none'}`
          : 'loading…'}
      </p>
    </Form>
  );
}

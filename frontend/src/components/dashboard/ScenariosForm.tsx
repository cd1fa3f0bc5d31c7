import { useState } from 'react';
import type { DashboardCommands } from '../../commands';
import { DEFAULT_CONFIG } from '../../botsForm';
import { isAmount, parseHoldings } from '../../csv';
import type { BotsConfig, ScenarioInfo, Settings, Stock } from '../../types';
import { Form, Messages } from '../forms';
import { useTask } from '../useTask';
import type { TraderDefaults } from './TradersForm';

interface Props {
  commands: DashboardCommands;
  scenarios: ScenarioInfo[] | null;
  error: string | null;
  /** what "save the current setup" saves */
  current: {
    stocks: Stock[];
    traderCount: number;
    defaults: TraderDefaults;
    settings: Settings | null;
    bots: BotsConfig | null;
    sessionMinutes: number | null;
  };
}

/** Load a scenario (reset, stocks, traders, settings, bots) in one action; save the current setup as one. */
export function ScenariosForm({ commands, scenarios, error, current }: Props) {
  const [confirm, setConfirm] = useState<string | null>(null);
  const [startBots, setStartBots] = useState(true);
  const task = useTask();
  const busy = task.busy;
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');

  const load = (scenario: string) =>
    task.run(async () => {
      const r = await commands.loadScenario(scenario, startBots);
      return `loaded ${scenario}: ${r.stocks.length} stocks, ${r.traders.length} traders${startBots ? ', bots started' : ''}`;
    });

  const save = () => {
    const n = name.trim();
    if (!/^[a-z0-9][a-z0-9_-]{0,39}$/i.test(n)) {
      task.fail('name: letters, digits, - and _ (up to 40)');
      return;
    }
    const holdings = parseHoldings(current.defaults.holdings);
    if ('error' in holdings) return task.fail(`holdings (Traders tab): ${holdings.error}`);
    if (!isAmount(current.defaults.cash)) return task.fail('starting cash (Traders tab) is not an amount');
    void task.run(async () => {
      await commands.saveScenario({
        name: n,
        description: description.trim(),
        stocks: current.stocks.map((s) => ({ symbol: s.symbol, name: s.name, reference_price: s.reference_price })),
        traders: {
          count: current.traderCount,
          prefix: current.defaults.prefix.trim() || 'Student',
          starting_cash: current.defaults.cash.trim(),
          holdings: holdings.holdings,
        },
        settings: current.settings ?? {},
        bots: current.bots ?? DEFAULT_CONFIG,
        session_minutes: current.sessionMinutes,
      });
      return `saved scenario ${n}`;
    });
  };

  return (
    <div className="setup-form" data-testid="scenarios-form">
      {error && (
        <div className="form-error" data-testid="scenarios-error">
          {error}
        </div>
      )}
      <label className="check small">
        <input type="checkbox" data-testid="scenario-start-bots" checked={startBots} onChange={(e) => setStartBots(e.target.checked)} />
        start the house bots when loading
      </label>
      <ul className="scenario-list">
        {(scenarios ?? []).map((s) => (
          <li key={s.name} data-testid={`scenario-${s.name}`}>
            <div className="scenario-head">
              <span className="sym">{s.name}</span>
              {s.builtin && <span className="tag">built-in</span>}
              <span className="push-right" />
              {confirm === s.name ? (
                <>
                  <button
                    type="button"
                    className="small-button danger solid"
                    data-testid={`scenario-confirm-${s.name}`}
                    disabled={busy}
                    onClick={() => {
                      setConfirm(null);
                      void load(s.name);
                    }}
                  >
                    Reset &amp; load
                  </button>
                  <button type="button" className="small-button" onClick={() => setConfirm(null)}>
                    Cancel
                  </button>
                </>
              ) : (
                <button type="button" className="small-button primary" data-testid={`scenario-load-${s.name}`} disabled={busy} onClick={() => setConfirm(s.name)}>
                  Load…
                </button>
              )}
            </div>
            {s.description && <div className="muted small">{s.description}</div>}
          </li>
        ))}
        {scenarios?.length === 0 && <li className="empty">No scenarios.</li>}
      </ul>
      {confirm && <p className="warn small">Loading resets the simulation first: every order, trade and position is erased.</p>}
      <Form className="form-grid" onSubmit={save}>
        <label>
          <span>save current setup as</span>
          <input data-testid="scenario-save-name" value={name} placeholder="my-class" onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          <span>description</span>
          <input data-testid="scenario-save-description" value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <div className="wide form-actions">
          <button type="submit" className="small-button primary" data-testid="scenario-save" disabled={busy}>
            Save scenario
          </button>
          <span className="muted small">
            {current.stocks.length} stocks · {current.traderCount} traders · settings · bot config
          </span>
        </div>
      </Form>
      {busy && <div className="muted">working…</div>}
      <Messages as="div" error={task.error} note={task.note} error_testid="scenario-error" note_testid="scenario-status" />
    </div>
  );
}

import { useEffect, useState } from 'react';
import type { DashboardCommands } from '../../commands';
import { configFromForm, DEFAULT_CONFIG, formFromConfig, KINDS, type BotsForm } from '../../botsForm';
import { stamp } from '../../format';
import type { BotsState } from '../../types';
import { Form, Messages } from '../forms';
import { Panel } from '../Panel';
import { num, Table } from '../Table';
import { useTask } from '../useTask';

interface Props {
  commands: DashboardCommands;
  bots: BotsState | null;
  error: string | null;
}

const COLUMNS = ['Bot', 'Kind', num('Sent'), num('Rejected'), 'Last error'];

const LABELS: Record<string, string> = {
  market_makers: 'makers',
  noise_traders: 'noise',
  momentum_traders: 'momentum',
  value_traders: 'value',
};

/** Start, stop and tune the house bots; each bot's orders sent and rejected. */
export function BotsPanel({ commands, bots, error }: Props) {
  const [form, setForm] = useState<BotsForm>(() => formFromConfig(bots?.config ?? DEFAULT_CONFIG));
  const [dirty, setDirty] = useState(false);
  const task = useTask();
  const configKey = bots ? JSON.stringify(bots.config) : '';

  // follow the server's config until the instructor starts editing
  useEffect(() => {
    if (bots && !dirty) setForm(formFromConfig(bots.config));
  }, [configKey, dirty]);

  const set = (key: keyof BotsForm, value: string) => {
    setForm((f) => ({ ...f, [key]: value }));
    setDirty(true);
  };

  const act = async (what: 'apply' | 'start' | 'stop') => {
    task.clear();
    let config = undefined;
    if (what !== 'stop') {
      const parsed = configFromForm(form, bots?.config ?? DEFAULT_CONFIG);
      if ('error' in parsed) return task.fail(parsed.error);
      config = parsed.config;
    }
    const wasRunning = bots?.running;
    await task.run(async () => {
      let note: string | undefined;
      if (what === 'apply' && config) {
        await commands.saveBotsConfig(config);
        note = wasRunning ? 'applied to the running bots' : 'saved';
      } else if (what === 'start') {
        await commands.startBots(config);
      } else {
        await commands.stopBots();
      }
      setDirty(false);
      return note;
    }, what);
  };

  const running = bots?.running ?? false;
  return (
    <Panel
      className="bots"
      label="House bots"
      testid="bots-panel"
      title="House bots"
      head={
        <>
          <span
            className={`badge ${running ? 'market-open' : ''}`}
            data-testid="bots-status"
            title={running && bots?.started_at ? `running since ${stamp(bots.started_at)}` : undefined}
          >
            {bots ? (running ? 'running' : 'stopped') : '…'}
          </span>
          <span className="push-right" />
          <button type="button" className="small-button ok" data-testid="bots-start" disabled={task.busy || running || !bots} onClick={() => void act('start')}>
            Start
          </button>
          <button type="button" className="small-button danger" data-testid="bots-stop" disabled={task.busy || !running} onClick={() => void act('stop')}>
            Stop
          </button>
        </>
      }
    >
      <div className="panel-body scroll">
        {error && (
          <div className="form-error pad" data-testid="bots-error">
            {error}{' '}
            <button type="button" className="small-button" onClick={commands.retryBots}>
              retry
            </button>
          </div>
        )}
        <Form className="form-grid" onSubmit={() => void act('apply')}>
          {KINDS.map((k) => (
            <label key={k}>
              <span>{LABELS[k]}</span>
              <input data-testid={`bots-cfg-${k}`} inputMode="numeric" value={form[k]} onChange={(e) => set(k, e.target.value)} />
            </label>
          ))}
          <label title="0 = patient limit orders near fair value, 1 = crosses the spread often">
            <span>aggress.</span>
            <input data-testid="bots-cfg-aggressiveness" value={form.aggressiveness} onChange={(e) => set('aggressiveness', e.target.value)} />
          </label>
          <label title="Fair value's random move per minute, in percent">
            <span>vol %/min</span>
            <input data-testid="bots-cfg-volatility" value={form.volatility_pct} onChange={(e) => set('volatility_pct', e.target.value)} />
          </label>
          <label title="Fair value's trend per minute, in percent (negative: down)">
            <span>drift %/min</span>
            <input data-testid="bots-cfg-drift" value={form.drift_pct} onChange={(e) => set('drift_pct', e.target.value)} />
          </label>
          <label title="Same seed, same fair-value path; empty = random">
            <span>seed</span>
            <input data-testid="bots-cfg-seed" inputMode="numeric" placeholder="random" value={form.seed} onChange={(e) => set('seed', e.target.value)} />
          </label>
          <label className="wide" title="Empty: every listed stock">
            <span>symbols</span>
            <input data-testid="bots-cfg-symbols" placeholder="all listed" value={form.symbols} onChange={(e) => set('symbols', e.target.value)} />
          </label>
          <div className="wide form-actions">
            <button type="submit" className="small-button primary" data-testid="bots-apply" disabled={task.busy || !bots}>
              {running ? 'Apply live' : 'Save config'}
            </button>
            <Messages error={task.error} note={task.note} error_testid="bots-form-error" />
          </div>
        </Form>
        <Table columns={COLUMNS} className="grid compact" empty={bots && bots.bots.length === 0 && 'No bots running.'}>
            {(bots?.bots ?? []).map((b) => (
              <tr key={b.user_id} data-testid={`bot-row-${b.user_id}`}>
                <td className="ellipsis name-cell">{b.name}</td>
                <td className="muted">{b.kind}</td>
                <td className="num" data-testid={`bot-sent-${b.user_id}`}>
                  {b.orders_sent}
                </td>
                <td className={`num ${b.rejected ? 'down' : ''}`} data-testid={`bot-rejected-${b.user_id}`}>
                  {b.rejected}
                </td>
                <td className="ellipsis muted reason-cell" title={b.last_error ?? ''}>
                  {b.last_error ?? ''}
                </td>
              </tr>
            ))}
        </Table>
      </div>
    </Panel>
  );
}

import { useState } from 'react';
import type { CsvExport, DashboardCommands } from '../../commands';
import { parseSessionMinutes } from '../../countdown';
import type { Market } from '../../types';
import { Countdown } from '../Countdown';
import { Messages } from '../forms';
import { useTask } from '../useTask';

interface Props {
  commands: DashboardCommands;
  market: Market | null;
  sessionMinutes: string;
  onSessionMinutes(text: string): void;
}

const EXPORTS: { key: CsvExport; label: string }[] = [
  { key: 'trades', label: 'Trades' },
  { key: 'orders', label: 'Orders' },
  { key: 'leaderboard', label: 'Leaderboard' },
  { key: 'portfolios', label: 'Portfolios' },
];

function SmallButton({ tone, testid, disabled, onClick, children }: { tone: string; testid: string; disabled: boolean; onClick(): void; children: string }) {
  return (
    <button type="button" className={`small-button ${tone}`} data-testid={testid} disabled={disabled} onClick={onClick}>
      {children}
    </button>
  );
}

/** Market open / halt / close with an optional session length, the reset (confirmed), the CSV exports. */
export function ControlBar({ commands, market, sessionMinutes, onSessionMinutes }: Props) {
  const task = useTask();
  const [confirmReset, setConfirmReset] = useState(false);
  const [revokeTokens, setRevokeTokens] = useState(false);
  const minutes = parseSessionMinutes(sessionMinutes);
  const status = market?.status ?? null;
  const busy = task.busy;

  const open = () => {
    if ('error' in minutes) return task.fail(minutes.error);
    void task.run(() => commands.market('open', minutes.minutes), 'open');
  };

  const stop = (action: 'halt' | 'close') => void task.run(() => commands.market(action), action);

  const reset = () => {
    const revoke = revokeTokens;
    setConfirmReset(false);
    void task.run(async () => {
      await commands.reset(revoke);
      return revoke ? 'reset done: everyone is back at the start and signed out' : 'reset done: everyone is back at the start';
    }, 'reset');
  };

  return (
    <div className="dash-bar panel" data-testid="control-bar">
      <div className="dash-group">
        <h2>Market</h2>
        {status ? (
          <span data-testid="dash-market-status" className={`badge market-${status}`}>
            {status}
          </span>
        ) : (
          <span className="badge">…</span>
        )}
        {status === 'open' && market?.closes_at && <Countdown closesAt={market.closes_at} testid="dash-countdown" />}
        <label className="inline-field" title="Optional: the market closes by itself after this many minutes">
          <span className="muted">session</span>
          <input
            data-testid="session-minutes"
            className="w-num"
            inputMode="numeric"
            placeholder="min"
            value={sessionMinutes}
            aria-invalid={'error' in minutes}
            onChange={(e) => onSessionMinutes(e.target.value)}
          />
          <span className="muted">min</span>
        </label>
        <SmallButton tone="ok" testid="market-open" disabled={busy} onClick={open}>
          Open
        </SmallButton>
        <SmallButton tone="warn" testid="market-halt" disabled={busy || status === 'halted'} onClick={() => stop('halt')}>
          Halt
        </SmallButton>
        <SmallButton tone="danger" testid="market-close" disabled={busy || status === 'closed'} onClick={() => stop('close')}>
          Close
        </SmallButton>
      </div>
      <div className="dash-group">
        <h2>Simulation</h2>
        {!confirmReset ? (
          <button
            type="button"
            className="small-button danger"
            data-testid="reset-button"
            disabled={busy}
            onClick={() => {
              setRevokeTokens(false);
              setConfirmReset(true);
            }}
          >
            Reset…
          </button>
        ) : (
          <span className="confirm" data-testid="reset-confirm-box">
            <span>Erase every order, trade and position?</span>
            <label
              className="inline-field"
              title="Every trader's and bot's login stops working: demo traders' screens and the house bots log in again by themselves, scripts must log in again. Your own login is kept."
            >
              <input type="checkbox" data-testid="reset-revoke" checked={revokeTokens} onChange={(e) => setRevokeTokens(e.target.checked)} />
              <span>also sign everyone out (revoke tokens)</span>
            </label>
            <button type="button" className="small-button danger solid" data-testid="reset-confirm" disabled={busy} onClick={reset}>
              Reset now
            </button>
            <button type="button" className="small-button" data-testid="reset-cancel" onClick={() => setConfirmReset(false)}>
              Cancel
            </button>
          </span>
        )}
      </div>
      <div className="dash-group">
        <h2>Export CSV</h2>
        {EXPORTS.map((x) => (
          <button
            key={x.key}
            type="button"
            className="small-button"
            data-testid={`export-${x.key}`}
            disabled={busy}
            onClick={() => void task.run(() => commands.exportCsv(x.key), `export ${x.key}`)}
          >
            {x.label}
          </button>
        ))}
      </div>
      {(task.error || task.note || busy) && (
        <div className="dash-group dash-messages">
          {busy && <span className="muted">{task.running}…</span>}
          <Messages error={task.error} note={task.note} error_testid="control-error" note_testid="control-status" />
        </div>
      )}
    </div>
  );
}

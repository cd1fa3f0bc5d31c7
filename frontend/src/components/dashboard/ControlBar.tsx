import { useState } from 'react';
import type { Api } from '../../api';
import { parseSessionMinutes } from '../../countdown';
import type { Market } from '../../types';
import { message } from '../../useDashboard';
import { Countdown } from '../Countdown';

interface Props {
  api: Api;
  market: Market | null;
  sessionMinutes: string;
  onSessionMinutes(text: string): void;
}

const EXPORTS: { key: string; label: string; path: string }[] = [
  { key: 'trades', label: 'Trades', path: '/api/exports/trades.csv' },
  { key: 'orders', label: 'Orders', path: '/api/exports/orders.csv' },
  { key: 'leaderboard', label: 'Leaderboard', path: '/api/exports/leaderboard.csv' },
  { key: 'portfolios', label: 'Portfolios', path: '/api/exports/portfolios.csv' },
];

/** Hands a fetched file to the browser as a download (a Blob link, clicked once). */
function save(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Market open / halt / close with an optional session length, the reset (confirmed), the CSV exports. */
export function ControlBar({ api, market, sessionMinutes, onSessionMinutes }: Props) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirmReset, setConfirmReset] = useState(false);
  const [revokeTokens, setRevokeTokens] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const minutes = parseSessionMinutes(sessionMinutes);
  const status = market?.status ?? null;

  const run = async (what: string, fn: () => Promise<unknown>, done?: string) => {
    setBusy(what);
    setError(null);
    setNote(null);
    try {
      await fn();
      if (done) setNote(done);
    } catch (exc) {
      setError(`${what}: ${message(exc)}`);
    } finally {
      setBusy(null);
    }
  };

  const open = () => {
    if ('error' in minutes) {
      setError(minutes.error);
      return;
    }
    void run('open', () => api.marketAction('open', minutes.minutes));
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
        <button type="button" className="small-button ok" data-testid="market-open" disabled={busy !== null} onClick={open}>
          Open
        </button>
        <button
          type="button"
          className="small-button warn"
          data-testid="market-halt"
          disabled={busy !== null || status === 'halted'}
          onClick={() => void run('halt', () => api.marketAction('halt'))}
        >
          Halt
        </button>
        <button
          type="button"
          className="small-button danger"
          data-testid="market-close"
          disabled={busy !== null || status === 'closed'}
          onClick={() => void run('close', () => api.marketAction('close'))}
        >
          Close
        </button>
      </div>
      <div className="dash-group">
        <h2>Simulation</h2>
        {!confirmReset ? (
          <button
            type="button"
            className="small-button danger"
            data-testid="reset-button"
            disabled={busy !== null}
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
              <input
                type="checkbox"
                data-testid="reset-revoke"
                checked={revokeTokens}
                onChange={(e) => setRevokeTokens(e.target.checked)}
              />
              <span>also sign everyone out (revoke tokens)</span>
            </label>
            <button
              type="button"
              className="small-button danger solid"
              data-testid="reset-confirm"
              disabled={busy !== null}
              onClick={() => {
                const revoke = revokeTokens;
                setConfirmReset(false);
                void run(
                  'reset',
                  () => api.reset(revoke),
                  revoke
                    ? 'reset done: everyone is back at the start and signed out'
                    : 'reset done: everyone is back at the start',
                );
              }}
            >
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
            disabled={busy !== null}
            onClick={() =>
              void run(`export ${x.key}`, async () => save(await api.download(x.path), `papertrade-${x.key}.csv`))
            }
          >
            {x.label}
          </button>
        ))}
      </div>
      {(error || note || busy) && (
        <div className="dash-group dash-messages">
          {busy && <span className="muted">{busy}…</span>}
          {error && (
            <span className="form-error" data-testid="control-error">
              {error}
            </span>
          )}
          {note && (
            <span className="form-ok" data-testid="control-status">
              {note}
            </span>
          )}
        </div>
      )}
    </div>
  );
}

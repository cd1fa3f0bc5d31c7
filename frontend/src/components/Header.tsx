import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import type { MarketStatus, User } from '../types';
import { Countdown } from './Countdown';

export type Theme = 'dark' | 'light';

interface Props {
  users: User[];
  accountId: number | null;
  /** the account actually logged in (accountId also shows one being switched to) */
  userId: number | null;
  onSwitch(userId: number, password?: string): void;
  market: MarketStatus | null;
  closesAt?: string | null;
  theme: Theme;
  onToggleTheme(): void;
  loginError: string | null;
  /** the instructor's token was refused: ask for the password again */
  needPassword?: boolean;
  /** extra buttons (the trader's leaderboard) */
  children?: ReactNode;
}

export function Header({ users, accountId, userId, onSwitch, market, closesAt, theme, onToggleTheme, loginError, needPassword, children }: Props) {
  // traders and the instructor; bots are not people to log in as
  const accounts = users.filter((u) => u.role === 'trader' || u.role === 'instructor');
  const [asking, setAsking] = useState<number | null>(null);
  const [password, setPassword] = useState('');
  const instructor = users.find((u) => u.role === 'instructor');

  // once logged in as the one asked for, the prompt goes away
  useEffect(() => {
    if (asking !== null && userId === asking && !needPassword) {
      setAsking(null);
      setPassword('');
    }
  }, [userId, asking, needPassword]);
  useEffect(() => {
    if (needPassword && instructor) setAsking(instructor.id);
  }, [needPassword, instructor]);

  const choose = (id: number) => {
    const user = users.find((u) => u.id === id);
    if (user?.role === 'instructor') {
      setAsking(id);
      setPassword('');
    } else {
      setAsking(null);
      onSwitch(id);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (asking !== null) onSwitch(asking, password);
  };

  return (
    <header className="topbar">
      <div className="brand">
        <svg className="logo" viewBox="0 0 24 24" aria-hidden="true">
          <path d="M3 17l5-6 4 4 8-10" fill="none" stroke="currentColor" strokeWidth="2.5" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
        <span className="brand-name">papertrade</span>
        <span className="brand-tag">paper exchange</span>
      </div>
      <div className="topbar-right">
        {loginError && (
          <span className="login-error" data-testid="login-error">
            login failed: {loginError}
          </span>
        )}
        {asking !== null && (
          <form className="password-form" onSubmit={submit}>
            <input
              type="password"
              data-testid="instructor-password"
              placeholder="instructor password"
              aria-label="Instructor password"
              autoComplete="current-password"
              autoFocus
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            <button type="submit" className="small-button primary" data-testid="instructor-login" disabled={!password}>
              Log in
            </button>
            {!needPassword && (
              <button type="button" className="small-button" data-testid="instructor-cancel" onClick={() => setAsking(null)}>
                Cancel
              </button>
            )}
          </form>
        )}
        {children}
        <label className="account">
          <span className="muted">Account</span>
          <select
            data-testid="account-switcher"
            value={asking ?? accountId ?? ''}
            onChange={(e) => e.target.value && choose(Number(e.target.value))}
          >
            {accountId === null && asking === null && (
              <option value="" disabled>
                choose a trader
              </option>
            )}
            {accounts.map((u) => (
              <option key={u.id} value={u.id}>
                {u.role === 'instructor' ? `${u.name} (instructor)` : u.name}
              </option>
            ))}
          </select>
        </label>
        <span className="market-label muted">Market</span>
        {market ? (
          <span data-testid="market-status" className={`badge market-${market}`} title={`The market is ${market}`}>
            {market}
          </span>
        ) : (
          <span className="badge">…</span>
        )}
        {market === 'open' && closesAt && <Countdown closesAt={closesAt} />}
        <button
          type="button"
          className="icon-button"
          data-testid="theme-toggle"
          onClick={onToggleTheme}
          title={theme === 'dark' ? 'Switch to the light theme' : 'Switch to the dark theme'}
          aria-label={theme === 'dark' ? 'Switch to the light theme' : 'Switch to the dark theme'}
        >
          {theme === 'dark' ? '☀' : '☾'}
        </button>
      </div>
    </header>
  );
}

import type { MarketStatus, User } from '../types';

export type Theme = 'dark' | 'light';

interface Props {
  users: User[];
  accountId: number | null;
  onSwitch(userId: number): void;
  market: MarketStatus | null;
  theme: Theme;
  onToggleTheme(): void;
  loginError: string | null;
}

export function Header({ users, accountId, onSwitch, market, theme, onToggleTheme, loginError }: Props) {
  const traders = users.filter((u) => u.role === 'trader');
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
        {loginError && <span className="login-error">login failed: {loginError}</span>}
        <label className="account">
          <span className="muted">Account</span>
          <select
            data-testid="account-switcher"
            value={accountId ?? ''}
            onChange={(e) => e.target.value && onSwitch(Number(e.target.value))}
          >
            {accountId === null && (
              <option value="" disabled>
                choose a trader
              </option>
            )}
            {traders.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
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

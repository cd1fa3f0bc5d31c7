// What the browser remembers between visits: the trader chosen, the symbol
// shown, the theme (localStorage) and the instructor's session for this tab
// (sessionStorage; the password itself is never stored). Storage may be
// refused (private mode): then nothing is remembered and nothing breaks.

import type { Session } from './types';

const ACCOUNT_KEY = 'papertrade.account';
const INSTRUCTOR_KEY = 'papertrade.instructor-session';
const SYMBOL_KEY = 'papertrade.symbol';
const THEME_KEY = 'papertrade.theme';

function read(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key: string, value: string): void {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // not remembered
  }
}

/** The account last logged in (0 when none). */
export function storedAccount(): number {
  return Number(read(ACCOUNT_KEY));
}

export function storeAccount(userId: number): void {
  write(ACCOUNT_KEY, String(userId));
}

export function storedSymbol(): string {
  return read(SYMBOL_KEY) ?? '';
}

export function storeSymbol(symbol: string): void {
  write(SYMBOL_KEY, symbol);
}

export function storedTheme(): 'dark' | 'light' {
  return read(THEME_KEY) === 'light' ? 'light' : 'dark';
}

export function storeTheme(theme: 'dark' | 'light'): void {
  write(THEME_KEY, theme);
}

/** The instructor's session kept for this tab, when it is well formed. */
export function storedInstructorSession(): Session | null {
  try {
    const s = JSON.parse(window.sessionStorage.getItem(INSTRUCTOR_KEY) ?? 'null') as Session | null;
    return s && typeof s.token === 'string' && s.user && typeof s.user.id === 'number' ? s : null;
  } catch {
    return null;
  }
}

/** Keeps (or, with null, forgets) the instructor's session for this tab. */
export function storeInstructorSession(s: Session | null): void {
  try {
    if (s) window.sessionStorage.setItem(INSTRUCTOR_KEY, JSON.stringify(s));
    else window.sessionStorage.removeItem(INSTRUCTOR_KEY);
  } catch {
    // not remembered
  }
}

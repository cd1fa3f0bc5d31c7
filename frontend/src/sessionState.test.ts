import { describe, expect, it } from 'vitest';
import type { Action } from './actions';
import { initialSession, sessionReducer, type SessionState } from './sessionState';
import { initialState, reducer } from './state';
import type { Session } from './types';

const session = (id: number, role = 'trader'): Session => ({ token: `t${id}`, user: { id, name: `u${id}`, role } });
const run = (actions: Action[], from: SessionState = initialSession) => actions.reduce(sessionReducer, from);

describe('session slice', () => {
  it('shows the account being switched to until the login answers', () => {
    let s = run([{ type: 'login-started', userId: 3 }]);
    expect(s.pendingAccount).toBe(3);
    s = sessionReducer(s, { type: 'signed-in', session: session(3) });
    expect(s).toEqual({ current: session(3), pendingAccount: null, loginError: null, needPassword: false });
  });

  it('a failed first login leaves the screen anonymous, a failed switch keeps the account held', () => {
    const first = run([{ type: 'login-started', userId: 3 }, { type: 'login-failed', message: 'wrong password' }]);
    expect(first).toMatchObject({ current: null, pendingAccount: null, loginError: 'wrong password' });
    const kept = run([
      { type: 'signed-in', session: session(2) },
      { type: 'login-started', userId: 9 },
      { type: 'login-failed', message: 'wrong password' },
    ]);
    expect(kept.current).toEqual(session(2));
    expect(kept.loginError).toBe('wrong password');
  });

  it('asks for the password until the next sign-in', () => {
    let s = run([{ type: 'signed-in', session: session(1, 'instructor') }, { type: 'password-needed' }]);
    expect(s.needPassword).toBe(true);
    s = sessionReducer(s, { type: 'signed-in', session: session(1, 'instructor') });
    expect(s.needPassword).toBe(false);
  });

  it('a sign-in switches the screen to that account (its portfolio and orders afresh)', () => {
    let s = reducer(initialState, { type: 'signed-in', session: session(2) });
    s = reducer(s, { type: 'orders', userId: 2, orders: [{ id: 1, user_id: 2, status: 'new', filled_qty: 0 } as never] });
    expect(s.userId).toBe(2);
    expect(Object.keys(s.orders)).toEqual(['1']);
    const same = reducer(s, { type: 'signed-in', session: { ...session(2), token: 'renewed' } });
    expect(same.orders).toBe(s.orders); // a renewed token for the same user keeps what is shown
    expect(same.session.current?.token).toBe('renewed');
    const other = reducer(s, { type: 'signed-in', session: session(5) });
    expect(other).toMatchObject({ userId: 5, orders: {}, portfolio: null });
  });
});

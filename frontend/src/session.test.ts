import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SessionAction } from './actions';
import { firstAccount, FRESH_TOKEN_MS, RELOGIN_GAP_MS, SessionKeeper } from './session';
import type { Session, User } from './types';

const trader = (id: number): Session => ({ token: `t${id}-0`, user: { id, name: `u${id}`, role: 'trader' } });
const instructor: Session = { token: 'i-0', user: { id: 1, name: 'Teacher', role: 'instructor' } };

/** fetch answering POST /api/sessions with a fresh token for the user asked for (or 401 `refuse`). */
function sessionsServer(refuse?: string) {
  const logins: number[] = [];
  let n = 0;
  vi.stubGlobal(
    'fetch',
    vi.fn(async (path: string, init?: RequestInit) => {
      if (path !== '/api/sessions') return new Response('{}', { status: 200 });
      const { user_id } = JSON.parse(String(init?.body)) as { user_id: number };
      logins.push(user_id);
      if (refuse) return new Response(JSON.stringify({ error: { code: 'unauthorized', message: refuse } }), { status: 401 });
      n += 1;
      return new Response(JSON.stringify({ token: `t${user_id}-${n}`, user: { id: user_id, name: `u${user_id}`, role: 'trader' } }));
    }),
  );
  return logins;
}

function keeper(clock = { t: 100_000 }) {
  const actions: SessionAction[] = [];
  const k = new SessionKeeper((a) => actions.push(a), () => clock.t);
  return { k, actions, clock };
}

afterEach(() => vi.unstubAllGlobals());

describe('the session keeper', () => {
  it('holds the token of the last login asked for, whichever answers first', async () => {
    sessionsServer();
    const { k, actions } = keeper();
    await Promise.all([k.login(2), k.login(3)]);
    expect(k.credentials()).toMatchObject({ userId: 3 });
    expect(actions.filter((a) => a.type === 'signed-in')).toHaveLength(1);
  });

  it("reports a refused login with the server's message", async () => {
    sessionsServer('wrong password');
    const { k, actions } = keeper();
    await k.login(1, 'nope');
    expect(actions).toEqual([{ type: 'login-started', userId: 1 }, { type: 'login-failed', message: 'wrong password' }]);
    expect(k.credentials()).toBeNull();
  });

  it("renews a refused trader's token by logging in again, one login for many refusals", async () => {
    const logins = sessionsServer();
    const { k } = keeper();
    k.adopt(trader(2));
    const answers = await Promise.all([k.renew('t2-0'), k.renew('t2-0')]);
    expect(answers).toEqual([true, true]);
    expect(logins).toEqual([2]);
    expect(k.credentials()?.token).toBe('t2-1');
    // a request that went out with the old token meanwhile: already renewed
    await expect(k.renew('t2-0')).resolves.toBe(true);
    expect(logins).toEqual([2]);
  });

  it('does not log in again for a token refused right after a fresh login', async () => {
    const logins = sessionsServer();
    const { k, clock } = keeper();
    k.adopt(trader(2));
    await k.renew('t2-0');
    clock.t += FRESH_TOKEN_MS - 1;
    await expect(k.renew('t2-1')).resolves.toBe(false);
    clock.t += 1;
    await expect(k.renew('t2-1')).resolves.toBe(true);
    expect(logins).toEqual([2, 2]);
  });

  it("asks the instructor for the password instead (the password is not kept)", async () => {
    const logins = sessionsServer();
    const { k, actions } = keeper();
    k.adopt(instructor);
    await expect(k.renew('i-0')).resolves.toBe(false);
    k.afterReset();
    expect(logins).toEqual([]);
    expect(actions.filter((a) => a.type === 'password-needed')).toHaveLength(1);
  });

  it('signs a trader in again at most every RELOGIN_GAP_MS, and at once after a reset', async () => {
    const logins = sessionsServer();
    const { k, clock } = keeper();
    k.adopt(trader(2));
    k.signInAgain();
    await vi.waitFor(() => expect(k.credentials()?.token).toBe('t2-1'));
    clock.t += RELOGIN_GAP_MS - 1;
    k.signInAgain();
    expect(logins).toEqual([2]);
    k.afterReset();
    await vi.waitFor(() => expect(k.credentials()?.token).toBe('t2-2'));
    expect(logins).toEqual([2, 2]);
  });

  it('does nothing before anyone is logged in', async () => {
    const logins = sessionsServer();
    const { k, actions } = keeper();
    k.signInAgain();
    await expect(k.renew('x')).resolves.toBe(false);
    expect(logins).toEqual([]);
    expect(actions).toEqual([]);
  });
});

describe('the first account', () => {
  const users: User[] = [
    { id: 1, name: 'Teacher', role: 'instructor' },
    { id: 2, name: 'Ann', role: 'trader' },
    { id: 3, name: 'Bo', role: 'trader' },
    { id: 4, name: 'bot', role: 'bot' },
  ];
  it("is the instructor's kept session only when it was the last choice", () => {
    expect(firstAccount(users, 1, instructor)).toEqual({ adopt: instructor });
    expect(firstAccount(users, 3, instructor)).toEqual({ login: 3 });
  });
  it('else the remembered trader, else the first trader, else nobody', () => {
    expect(firstAccount(users, 3, null)).toEqual({ login: 3 });
    expect(firstAccount(users, 4, null)).toEqual({ login: 2 });
    expect(firstAccount(users, 0, null)).toEqual({ login: 2 });
    expect(firstAccount(users.filter((u) => u.role !== 'trader'), 1, null)).toBeNull();
  });
});

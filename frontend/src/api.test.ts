import { afterEach, describe, expect, it, vi } from 'vitest';
import { Api, type Auth, type Credentials } from './api';
import { ApiError, isRevoked } from './errors';

const REVOKED = { error: { code: 'unauthorized', message: 'token revoked by a reset; log in again' } };

function answer(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** fetch that answers 401 to `refused` tokens and 200 {"token": <token>} to others. */
function server(refused: Set<string>) {
  const seen: (string | null)[] = [];
  const fetchMock = vi.fn(async (_path: string, init?: RequestInit) => {
    const auth = (init?.headers as Record<string, string> | undefined)?.Authorization ?? null;
    const token = auth ? auth.replace('Bearer ', '') : null;
    seen.push(token);
    return token && refused.has(token) ? answer(401, REVOKED) : answer(200, { token });
  });
  vi.stubGlobal('fetch', fetchMock);
  return seen;
}

/** An Auth holding `held`, whose renewal runs `renew` (which may change what is held). */
function auth(held: Credentials | null, renew: (box: { held: Credentials | null }) => boolean) {
  const box = { held };
  const a: Auth & { renew: ReturnType<typeof vi.fn> } = {
    credentials: () => box.held,
    renew: vi.fn(async () => renew(box)),
  };
  return { auth: a, box };
}

const OLD: Credentials = { token: 'old', userId: 7, role: 'trader' };

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('a token refused with 401', () => {
  it('is renewed once and the request sent again with the new token', async () => {
    const seen = server(new Set(['old']));
    const { auth: a } = auth(OLD, (box) => {
      box.held = { ...OLD, token: 'new' };
      return true;
    });
    const api = new Api(a);
    await expect(api.request('/api/portfolios/7')).resolves.toEqual({ token: 'new' });
    expect(seen).toEqual(['old', 'new']);
    expect(a.renew).toHaveBeenCalledWith('old');
  });

  it('is not retried when the renewal fails, nor more than once', async () => {
    const seen = server(new Set(['old', 'new']));
    const renewed = auth(OLD, (box) => {
      box.held = { ...OLD, token: 'new' };
      return true;
    });
    const err = await new Api(renewed.auth).request('/api/orders').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(401);
    expect(isRevoked((err as ApiError).message)).toBe(true);
    expect(seen).toEqual(['old', 'new']); // one retry, then the 401 stands

    seen.length = 0;
    const refused = auth(OLD, () => false);
    await expect(new Api(refused.auth).request('/api/orders')).rejects.toBeInstanceOf(ApiError);
    expect(seen).toEqual(['old']);
  });

  it('is never resent as another user (an account switch meanwhile)', async () => {
    const seen = server(new Set(['old']));
    const { auth: a } = auth(OLD, (box) => {
      box.held = { token: 'someone-else', userId: 8, role: 'trader' };
      return true;
    });
    await expect(new Api(a).request('/api/orders', { method: 'POST', body: {} })).rejects.toBeInstanceOf(ApiError);
    expect(seen).toEqual(['old']);
  });

  it('on the login itself or without a token asks nothing', async () => {
    server(new Set(['old']));
    const withToken = auth(OLD, () => true);
    await expect(
      new Api(withToken.auth).request('/api/sessions', { method: 'POST', body: { user_id: 7 } }),
    ).rejects.toBeInstanceOf(ApiError);
    expect(withToken.auth.renew).not.toHaveBeenCalled();
  });

  it('sends no Authorization header without credentials', async () => {
    const seen = server(new Set());
    await new Api().users();
    expect(seen).toEqual([null]);
  });
});

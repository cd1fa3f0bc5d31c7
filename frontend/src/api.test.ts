import { afterEach, describe, expect, it, vi } from 'vitest';
import { Api, ApiError, isRevoked } from './api';

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

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('a token refused with 401', () => {
  it('is renewed once and the request sent again with the new token', async () => {
    const seen = server(new Set(['old']));
    const api = new Api();
    api.token = 'old';
    api.userId = 7;
    api.onUnauthorized = vi.fn(async () => {
      api.token = 'new';
      return true;
    });
    await expect(api.request('/api/portfolios/7')).resolves.toEqual({ token: 'new' });
    expect(seen).toEqual(['old', 'new']);
    expect(api.onUnauthorized).toHaveBeenCalledWith('old');
  });

  it('is not retried when the renewal fails, nor more than once', async () => {
    const seen = server(new Set(['old', 'new']));
    const api = new Api();
    api.token = 'old';
    api.userId = 7;
    api.onUnauthorized = async () => {
      api.token = 'new';
      return true;
    };
    const err = await api.request('/api/orders').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(401);
    expect(isRevoked((err as ApiError).message)).toBe(true);
    expect(seen).toEqual(['old', 'new']); // one retry, then the 401 stands

    seen.length = 0;
    api.token = 'old';
    api.onUnauthorized = async () => false;
    await expect(api.request('/api/orders')).rejects.toBeInstanceOf(ApiError);
    expect(seen).toEqual(['old']);
  });

  it('is never resent as another user (an account switch meanwhile)', async () => {
    const seen = server(new Set(['old']));
    const api = new Api();
    api.token = 'old';
    api.userId = 7;
    api.onUnauthorized = async () => {
      api.token = 'someone-else';
      api.userId = 8;
      return true;
    };
    await expect(api.request('/api/orders', { method: 'POST', body: {} })).rejects.toBeInstanceOf(ApiError);
    expect(seen).toEqual(['old']);
  });

  it('on the login itself or without a token asks nothing', async () => {
    server(new Set(['old']));
    const api = new Api();
    const hook = vi.fn(async () => true);
    api.onUnauthorized = hook;
    api.token = 'old';
    await expect(api.request('/api/sessions', { method: 'POST', body: { user_id: 7 } })).rejects.toBeInstanceOf(
      ApiError,
    );
    expect(hook).not.toHaveBeenCalled();
  });
});

// REST client for the single origin: relative URLs, bearer token, JSON errors.
// The only module that calls fetch; the token comes from an Auth (the session
// keeper), so nothing outside sets it on the client.

import type {
  ApiCandle,
  Book,
  BotsConfig,
  BotsState,
  BulkUsersRequest,
  LeaderRow,
  LedgerEntry,
  RosterPortfolio,
  Scenario,
  ScenarioInfo,
  ScenarioLoaded,
  Settings,
  Simulation,
  Market,
  Order,
  OrderDetail,
  OrderRequest,
  ReplaceRequest,
  Portfolio,
  Session,
  Stock,
  Trade,
  User,
} from './types';
import { ApiError } from './errors';

/** Turns an error response into an ApiError, using the server's {"error": {...}} when present. */
export async function errorFrom(resp: Response): Promise<ApiError> {
  let code = `http_${resp.status}`;
  let message = resp.statusText || `request failed (${resp.status})`;
  let field: string | undefined;
  try {
    const body = (await resp.json()) as { error?: { code?: string; message?: string; field?: string } };
    if (body && body.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
      field = body.error.field ?? undefined;
    }
  } catch {
    // not JSON: keep the status text
  }
  return new ApiError(resp.status, code, message, field);
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  /** internal: this is the one retry after a renewed token */
  retried?: boolean;
}

/** The token requests carry, and who it belongs to. */
export interface Credentials {
  token: string;
  userId: number;
  /** that user's role ('instructor' has no trading account) */
  role: string;
}

/** Where the client gets its token, and what it asks when the server refuses one. */
export interface Auth {
  credentials(): Credentials | null;
  /** A request sent with `token` got 401 (a reset revoked it, or it expired):
   *  true when a new token for the same user is in place. */
  renew(token: string): Promise<boolean>;
}

const ANONYMOUS: Auth = { credentials: () => null, renew: async () => false };

export class Api {
  constructor(private readonly auth: Auth = ANONYMOUS) {}

  async request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const sent = this.auth.credentials();
    if (sent) headers.Authorization = `Bearer ${sent.token}`;
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    let resp: Response;
    try {
      resp = await fetch(path, {
        method: opts.method ?? 'GET',
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal,
      });
    } catch (exc) {
      if (exc instanceof DOMException && exc.name === 'AbortError') throw exc;
      throw new ApiError(0, 'network', 'The exchange cannot be reached');
    }
    if (!resp.ok) {
      const err = await errorFrom(resp);
      if (resp.status === 401 && sent && !opts.retried && path !== '/api/sessions') {
        // a demo trader logs in again by itself (no password) and the request is sent
        // again, for the same user only: a 401 means it was not carried out
        const renewed = await this.auth.renew(sent.token);
        const now = this.auth.credentials();
        if (renewed && now && now.userId === sent.userId && now.token !== sent.token) {
          return this.request<T>(path, { ...opts, retried: true });
        }
      }
      throw err;
    }
    if (resp.status === 204) return undefined as T;
    const text = await resp.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  users() {
    return this.request<User[]>('/api/users');
  }
  login(userId: number, password?: string) {
    const body: Record<string, unknown> = { user_id: userId };
    if (password !== undefined) body.password = password;
    return this.request<Session>('/api/sessions', { method: 'POST', body });
  }
  portfolio(userId: number) {
    return this.request<Portfolio>(`/api/portfolios/${userId}`);
  }
  stocks() {
    return this.request<Stock[]>('/api/stocks');
  }
  market() {
    return this.request<Market>('/api/market');
  }
  candles(symbol: string, limit = 500) {
    return this.request<ApiCandle[]>(`/api/stocks/${encodeURIComponent(symbol)}/candles?interval=1m&limit=${limit}`);
  }
  trades(symbol: string, limit = 30) {
    return this.request<Trade[]>(`/api/stocks/${encodeURIComponent(symbol)}/trades?limit=${limit}`);
  }
  book(symbol: string, levels = 10) {
    return this.request<Book>(`/api/books/${encodeURIComponent(symbol)}?levels=${levels}`);
  }
  orders(status: 'open' | 'closed' | 'all', limit = 200) {
    return this.request<Order[]>(`/api/orders?status=${status}&limit=${limit}`);
  }
  order(id: number) {
    return this.request<OrderDetail>(`/api/orders/${id}`);
  }
  placeOrder(order: OrderRequest) {
    return this.request<Order>('/api/orders', { method: 'POST', body: order });
  }
  cancelOrder(id: number) {
    return this.request<unknown>(`/api/orders/${id}`, { method: 'DELETE' });
  }
  replaceOrder(id: number, changes: ReplaceRequest) {
    return this.request<Order>(`/api/orders/${id}`, { method: 'PATCH', body: changes });
  }

  // the instructor's dashboard
  settings() {
    return this.request<Settings>('/api/settings');
  }
  putSettings(changes: Partial<Settings>) {
    return this.request<Settings>('/api/settings', { method: 'PUT', body: changes });
  }
  bulkUsers(body: BulkUsersRequest) {
    return this.request<User[]>('/api/users/bulk', { method: 'POST', body });
  }
  listStock(symbol: string, name: string, reference_price: string) {
    return this.request<Stock>('/api/stocks', { method: 'POST', body: { symbol, name, reference_price } });
  }
  delistStock(symbol: string) {
    return this.request<unknown>(`/api/stocks/${encodeURIComponent(symbol)}`, { method: 'DELETE' });
  }
  marketAction(action: 'open' | 'halt' | 'close', sessionMinutes?: number | null) {
    const body = action === 'open' && sessionMinutes ? { session_minutes: sessionMinutes } : undefined;
    return this.request<Market>(`/api/market/${action}`, { method: 'POST', body });
  }
  simulation() {
    return this.request<Simulation>('/api/simulation');
  }
  /** `revokeTokens`: also sign every trader and bot out (the instructor's token is kept). */
  reset(revokeTokens = false) {
    return this.request<{ epoch: number; tokens_valid_from_epoch: number }>('/api/simulation/reset', {
      method: 'POST',
      body: revokeTokens ? { revoke_tokens: true } : undefined,
    });
  }
  portfolios() {
    return this.request<RosterPortfolio[]>('/api/portfolios');
  }
  leaderboard(includeBots = false, limit?: number) {
    const rows = limit === undefined ? '' : `&limit=${limit}`;
    return this.request<LeaderRow[]>(`/api/leaderboard?include_bots=${includeBots}${rows}`);
  }
  ledger(userId: number, limit = 200) {
    return this.request<LedgerEntry[]>(`/api/portfolios/${userId}/ledger?limit=${limit}`);
  }
  ordersOf(userId: number, limit = 200) {
    return this.request<Order[]>(`/api/orders?user_id=${userId}&status=all&limit=${limit}`);
  }
  bots() {
    return this.request<BotsState>('/api/bots');
  }
  putBotsConfig(config: BotsConfig) {
    return this.request<BotsConfig>('/api/bots/config', { method: 'PUT', body: config });
  }
  startBots(config?: BotsConfig) {
    return this.request<BotsState>('/api/bots/start', { method: 'POST', body: config ?? {} });
  }
  stopBots() {
    return this.request<BotsState>('/api/bots/stop', { method: 'POST' });
  }
  scenarios() {
    return this.request<ScenarioInfo[]>('/api/scenarios');
  }
  scenario(name: string) {
    return this.request<Scenario>(`/api/scenarios/${encodeURIComponent(name)}`);
  }
  saveScenario(doc: Scenario) {
    return this.request<Scenario>(`/api/scenarios/${encodeURIComponent(doc.name)}`, { method: 'PUT', body: doc });
  }
  loadScenario(name: string, startBots: boolean) {
    return this.request<ScenarioLoaded>(`/api/scenarios/${encodeURIComponent(name)}/load`, {
      method: 'POST',
      body: { start_bots: startBots },
    });
  }

  /** A CSV export fetched with the bearer token (a plain link could not send it). */
  async download(path: string): Promise<Blob> {
    const headers: Record<string, string> = { Accept: 'text/csv' };
    const creds = this.auth.credentials();
    if (creds) headers.Authorization = `Bearer ${creds.token}`;
    let resp: Response;
    try {
      resp = await fetch(path, { headers });
    } catch {
      throw new ApiError(0, 'network', 'The exchange cannot be reached');
    }
    if (!resp.ok) throw await errorFrom(resp);
    return resp.blob();
  }
}

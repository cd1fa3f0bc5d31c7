// REST client for the single origin: relative URLs, bearer token, JSON errors.

import type {
  ApiCandle,
  Book,
  Market,
  Order,
  OrderDetail,
  OrderRequest,
  Portfolio,
  Session,
  Stock,
  Trade,
  User,
} from './types';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;

  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

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
}

export class Api {
  token: string | null = null;
  /** The user the token belongs to: set together with it, so an account's
   *  requests never go out with another account's token. */
  userId: number | null = null;

  async request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
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
    if (!resp.ok) throw await errorFrom(resp);
    if (resp.status === 204) return undefined as T;
    const text = await resp.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  users() {
    return this.request<User[]>('/api/users');
  }
  login(userId: number) {
    return this.request<Session>('/api/sessions', { method: 'POST', body: { user_id: userId } });
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
}

// The live connection to the exchange: REST snapshots, the Socket.IO feed,
// the account switch. Every (re)connect refetches everything over REST, so a
// push lost while disconnected costs nothing; while the socket is down the
// screen refreshes itself over REST every few seconds.

import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { io, type Socket } from 'socket.io-client';
import { Api, ApiError, isRevoked } from './api';
import { RESET_RELOADS_MS } from './useDashboard';
import { initialState, reducer, type State } from './state';
import type { Book, Market, Order, OrderDetail, OrderRequest, Portfolio, PricePush, Session, Settings, Trade } from './types';

const ACCOUNT_KEY = 'papertrade.account';
// The instructor's session survives a reload of this tab (the password is never stored).
const INSTRUCTOR_KEY = 'papertrade.instructor-session';
const SYMBOL_KEY = 'papertrade.symbol';
const POLL_MS = 4000;

function stored(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key: string, value: string): void {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // private mode: the choice is just not remembered
  }
}

function storedSession(): Session | null {
  try {
    const s = JSON.parse(window.sessionStorage.getItem(INSTRUCTOR_KEY) ?? 'null') as Session | null;
    return s && typeof s.token === 'string' && s.user && typeof s.user.id === 'number' ? s : null;
  } catch {
    return null;
  }
}

function storeSession(s: Session | null): void {
  try {
    if (s) window.sessionStorage.setItem(INSTRUCTOR_KEY, JSON.stringify(s));
    else window.sessionStorage.removeItem(INSTRUCTOR_KEY);
  } catch {
    // not remembered
  }
}

/** Every Socket.IO message, plus a synthetic `connect` on each (re)connect. */
export type Listener = (event: string, data: unknown) => void;

/** What the hook gives the screen. */
export interface Exchange {
  state: State;
  /** the account being switched to (shown in the switcher at once), else the logged-in one */
  accountId: number | null;
  session: Session | null;
  loginError: string | null;
  /** the instructor's token was refused: the password has to be given again */
  needPassword: boolean;
  isInstructor: boolean;
  /** log in as `userId` (the instructor needs `password`) */
  switchAccount(userId: number, password?: string): void;
  /** hear every push (the dashboard's own state); returns the unsubscribe */
  listen(fn: Listener): () => void;
  /** fetch the stock list again (after a listing or delisting) */
  reloadStocks(): void;
  api: Api;
  select(symbol: string): void;
  placeOrder(order: OrderRequest): Promise<Order>;
  cancelOrder(id: number): Promise<void>;
  orderDetail(id: number): Promise<OrderDetail>;
}

function stripDetail(o: OrderDetail | Order): Order {
  const { history: _history, ...order } = o as OrderDetail;
  void _history;
  return order;
}

export function useExchange(): Exchange {
  const api = useMemo(() => new Api(), []);
  const [state, dispatch] = useReducer(reducer, initialState, (s) => ({
    ...s,
    selected: stored(SYMBOL_KEY) ?? '',
  }));
  const stateRef = useRef(state);
  stateRef.current = state;

  // undefined: not decided yet (users loading / first login); null: anonymous
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [pendingAccount, setPendingAccount] = useState<number | null>(null);
  const [loginError, setLoginError] = useState<string | null>(null);
  const [needPassword, setNeedPassword] = useState(false);
  const listeners = useRef(new Set<Listener>());
  const tell = useCallback((event: string, data: unknown) => {
    for (const fn of listeners.current) fn(event, data);
  }, []);
  const loginSeq = useRef(0);
  const socketRef = useRef<Socket | null>(null);
  const lastRelogin = useRef(0);

  // ---- REST loads -------------------------------------------------------

  const ignore = useCallback((exc: unknown) => {
    // A failed refresh is retried by the next one (reconnect or poll); the
    // connection banner already says when the exchange is unreachable.
    if (exc instanceof DOMException && exc.name === 'AbortError') return;
  }, []);

  const loadStocks = useCallback(async () => {
    const stocks = await api.stocks();
    dispatch({ type: 'stocks', stocks });
    return stocks;
  }, [api]);

  const loadUsers = useCallback(async () => {
    dispatch({ type: 'users', users: await api.users() });
  }, [api]);

  // A market snapshot requested before a `market` push and answered after it is
  // older than the push (a halt right after connecting showed "open" again).
  const marketPushes = useRef(0);
  const loadMarket = useCallback(async () => {
    const before = marketPushes.current;
    const market = await api.market();
    if (before === marketPushes.current) dispatch({ type: 'market', market });
  }, [api]);

  const loadSymbol = useCallback(
    async (symbol: string) => {
      if (!symbol) return;
      const book = api.book(symbol).then((b) => dispatch({ type: 'book', book: b }));
      // trades before candles: the candles then already count every trade in the tape
      const tapeAndCandles = api
        .trades(symbol)
        .then((trades) => dispatch({ type: 'trades', symbol, trades }))
        .then(() => api.candles(symbol))
        .then((candles) => dispatch({ type: 'candles', symbol, candles }));
      await Promise.all([book, tapeAndCandles]);
    },
    [api],
  );

  const relogin = useRef<() => void>(() => undefined);

  const loadAccount = useCallback(async (replace = false) => {
    // The token's own user, not the selected one: during a switch they differ
    // for a moment, and asking for one user's portfolio with the other's token
    // is a 403.
    const userId = api.userId;
    // the instructor has no trading account: the dashboard loads its own data
    if (userId === null || !api.token || api.role === 'instructor') return;
    try {
      const [portfolio, open, closed] = await Promise.all([
        api.portfolio(userId),
        api.orders('open', 1000),
        api.orders('closed', 200),
      ]);
      dispatch({ type: 'portfolio', portfolio });
      dispatch({ type: 'orders', userId, orders: [...open, ...closed], replace });
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 401) relogin.current();
      else throw exc;
    }
  }, [api]);

  const loadSettings = useCallback(async () => {
    if (!api.token) return;
    dispatch({ type: 'settings', settings: await api.settings() });
  }, [api]);

  const refetchAll = useCallback(async (replaceOrders = false) => {
    const stocks = await loadStocks().catch(() => stateRef.current.stocks);
    const socket = socketRef.current;
    if (socket?.connected) socket.emit('subscribe', { symbols: stocks.map((s) => s.symbol) });
    await Promise.all([
      loadMarket().catch(ignore),
      loadAccount(replaceOrders).catch(ignore),
      loadSettings().catch(ignore),
      loadSymbol(stateRef.current.selected).catch(ignore),
    ]);
  }, [loadStocks, loadMarket, loadAccount, loadSettings, loadSymbol, ignore]);

  // ---- accounts ---------------------------------------------------------

  const adopt = useCallback(
    (s: Session) => {
      api.token = s.token;
      api.userId = s.user.id;
      api.role = s.user.role;
      store(ACCOUNT_KEY, String(s.user.id));
      storeSession(s.user.role === 'instructor' ? s : null);
      setLoginError(null);
      setNeedPassword(false);
      dispatch({ type: 'account', userId: s.user.id });
      setSession(s);
    },
    [api],
  );

  const login = useCallback(
    async (userId: number, password?: string) => {
      const seq = ++loginSeq.current;
      setPendingAccount(userId);
      try {
        const s = await api.login(userId, password);
        if (seq !== loginSeq.current) return;
        adopt(s);
      } catch (exc) {
        if (seq !== loginSeq.current) return;
        setLoginError(exc instanceof Error ? exc.message : 'login failed');
        setSession((cur) => (cur === undefined ? null : cur));
      } finally {
        if (seq === loginSeq.current) setPendingAccount(null);
      }
    },
    [api, adopt],
  );

  // ---- a refused token: demo traders (and bots) log in again by themselves ----
  // A reset may revoke every trader's token (the instructor's choice); the
  // instructor's is kept, so only an expired one asks for the password again.
  const renewing = useRef<Promise<boolean> | null>(null);
  const lastRenew = useRef(0);

  /** Log the token's own user in again (one login at a time): true when it worked. */
  const renewLogin = useCallback((): Promise<boolean> => {
    if (renewing.current) return renewing.current;
    const userId = api.userId;
    if (userId === null || api.role === 'instructor') return Promise.resolve(false);
    const before = api.token;
    lastRenew.current = Date.now();
    const attempt = login(userId).then(() => api.userId === userId && api.token !== before);
    renewing.current = attempt;
    void attempt.finally(() => {
      if (renewing.current === attempt) renewing.current = null;
    });
    return attempt;
  }, [api, login]);

  relogin.current = () => {
    const userId = stateRef.current.userId;
    const now = Date.now();
    if (userId === null) return;
    if (api.role === 'instructor') {
      // no password kept: ask for it again
      storeSession(null);
      setNeedPassword(true);
      return;
    }
    if (now - lastRelogin.current < 10_000) return;
    lastRelogin.current = now;
    void renewLogin();
  };

  /** A request sent with `sent` got 401: renew the token once, then the request is sent again. */
  const onUnauthorized = useCallback(
    async (sent: string): Promise<boolean> => {
      if (api.token !== sent) return api.token !== null; // already renewed meanwhile
      if (api.role === 'instructor') {
        relogin.current();
        return false;
      }
      if (renewing.current) return renewing.current;
      // a token refused right after a fresh login is not fixed by logging in again
      if (Date.now() - lastRenew.current < 3000) return false;
      return renewLogin();
    },
    [api, renewLogin],
  );
  useEffect(() => {
    api.onUnauthorized = onUnauthorized;
    return () => {
      api.onUnauthorized = null;
    };
  }, [api, onUnauthorized]);

  // first load: users, then the remembered trader (or the first one)
  useEffect(() => {
    let cancelled = false;
    const start = async () => {
      try {
        const users = await api.users();
        if (cancelled) return;
        dispatch({ type: 'users', users });
        const traders = users.filter((u) => u.role === 'trader');
        const remembered = Number(stored(ACCOUNT_KEY));
        const kept = storedSession();
        if (kept && kept.user.id === remembered && users.some((u) => u.id === kept.user.id && u.role === 'instructor')) {
          adopt(kept);
          return;
        }
        const pick = traders.find((u) => u.id === remembered) ?? traders[0];
        if (pick) await login(pick.id);
        else setSession(null);
      } catch {
        if (!cancelled) {
          setSession(null);
          window.setTimeout(() => {
            if (!cancelled) void start();
          }, POLL_MS);
        }
      }
    };
    void start();
    return () => {
      cancelled = true;
    };
  }, [api, login, adopt]);

  // public data at once, before the account is known
  useEffect(() => {
    void loadStocks().catch(ignore);
    void loadMarket().catch(ignore);
  }, [loadStocks, loadMarket, ignore]);

  // ---- the socket: one per account (reconnects with the new token) -------

  const token = session === undefined ? undefined : (session?.token ?? null);
  useEffect(() => {
    if (token === undefined) return;
    const socket = io({
      auth: token ? { token } : undefined,
      // WebSocket first (the gateway serves it): no long-polling requests, so an
      // account switch that closes the socket leaves no poll behind to be refused
      // with a 400 for its closed session; long-polling only where WebSocket fails.
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
    });
    socketRef.current = socket;
    dispatch({ type: 'connection', connection: 'connecting' });
    socket.on('connect', () => {
      dispatch({ type: 'connection', connection: 'connected' });
      void refetchAll();
      tell('connect', null);
    });
    socket.onAny((event: string, data: unknown) => tell(event, data));
    let retry: number | undefined;
    const retryLater = () => {
      // the server refused us (not a network error): socket.io does not retry by itself
      window.clearTimeout(retry);
      retry = window.setTimeout(() => socket.connect(), 5000);
    };
    socket.on('disconnect', (reason) => {
      dispatch({ type: 'connection', connection: 'disconnected' });
      if (reason === 'io server disconnect') retryLater();
    });
    socket.on('connect_error', (err: Error) => {
      dispatch({ type: 'connection', connection: 'disconnected' });
      if (!socket.active) {
        // refused: a token a reset revoked is renewed at once (a new socket follows the new token)
        if (token && isRevoked(err.message)) void onUnauthorized(token);
        else relogin.current();
        retryLater();
      }
    });
    // the gateway signs out a socket whose token a reset revoked: log in again
    socket.on('revoked', () => {
      if (token) void onUnauthorized(token);
    });
    socket.on('price', (p: PricePush) => dispatch({ type: 'price', price: p }));
    socket.on('trade', (t: Trade) => dispatch({ type: 'trade', trade: t }));
    socket.on('book', (b: Book) => dispatch({ type: 'book', book: b }));
    socket.on('market', (m: Market) => {
      marketPushes.current += 1;
      dispatch({ type: 'market', market: m });
    });
    socket.on('order', (o: Order) => dispatch({ type: 'order', order: stripDetail(o) }));
    socket.on('portfolio', (p: Portfolio) => dispatch({ type: 'portfolio', portfolio: p }));
    // a stock listed or a user created: refresh those lists
    // (coalesced: creating 500 traders in bulk pushes 500 `user` messages, one reload is enough)
    const later = new Map<string, number>();
    const soon = (key: string, fn: () => Promise<unknown>) => {
      if (later.has(key)) return;
      later.set(
        key,
        window.setTimeout(() => {
          later.delete(key);
          void fn().catch(ignore);
        }, 250),
      );
    };
    socket.on('stock', () => soon('stock', loadStocks));
    socket.on('delisted', () => soon('stock', loadStocks));
    socket.on('settings', (x: Settings) => dispatch({ type: 'settings', settings: x }));
    socket.on('user', () => soon('user', loadUsers));
    // the instructor reset the simulation: start over (tokens of the old epoch may be refused)
    socket.on('reset', () => {
      dispatch({ type: 'reset' });
      lastRelogin.current = 0;
      // a trader logs in again; the instructor keeps the token (no password kept)
      // and is asked for it only if the server refuses that token
      if (api.role !== 'instructor') relogin.current();
      void refetchAll();
      // each service resets on its own event: one that has not yet done so still
      // answers with the old state (old orders), so look again shortly; what a
      // snapshot brings then replaces it (orders of the new epoch only)
      for (const ms of RESET_RELOADS_MS) window.setTimeout(() => void refetchAll(true), ms);
    });
    // the account's data for this token, whether or not the socket comes up
    void loadAccount().catch(ignore);
    return () => {
      window.clearTimeout(retry);
      for (const t of later.values()) window.clearTimeout(t);
      socket.removeAllListeners();
      socket.offAny();
      socket.disconnect();
      if (socketRef.current === socket) socketRef.current = null;
    };
  }, [api, token, refetchAll, loadAccount, loadStocks, loadUsers, ignore, tell, onUnauthorized]);

  // subscribe again when the list of symbols changes while connected
  const symbolsKey = state.stocks.map((s) => s.symbol).join(',');
  useEffect(() => {
    const socket = socketRef.current;
    if (socket?.connected && symbolsKey) socket.emit('subscribe', { symbols: symbolsKey.split(',') });
  }, [symbolsKey]);

  // without the socket, keep the screen current over REST
  useEffect(() => {
    if (state.connection !== 'disconnected') return;
    const timer = window.setInterval(() => void refetchAll(), POLL_MS);
    return () => window.clearInterval(timer);
  }, [state.connection, refetchAll]);

  // the selected symbol's chart, book and tape
  useEffect(() => {
    if (!state.selected) return;
    store(SYMBOL_KEY, state.selected);
    void loadSymbol(state.selected).catch(ignore);
  }, [state.selected, loadSymbol, ignore]);

  // ---- commands ---------------------------------------------------------

  /** Without live pushes, look again shortly after a command. */
  const followUp = useCallback(() => {
    if (socketRef.current?.connected) return;
    for (const ms of [400, 1500]) window.setTimeout(() => void loadAccount().catch(ignore), ms);
  }, [loadAccount, ignore]);

  const placeOrder = useCallback(
    async (order: OrderRequest) => {
      const placed = await api.placeOrder(order);
      dispatch({ type: 'order', order: placed });
      followUp();
      return placed;
    },
    [api, followUp],
  );

  const cancelOrder = useCallback(
    async (id: number) => {
      try {
        await api.cancelOrder(id);
      } finally {
        // 202 (cancel under way) or 409 (already final): show what it is now
        api
          .order(id)
          .then((o) => dispatch({ type: 'order', order: stripDetail(o) }))
          .catch(ignore);
        followUp();
      }
    },
    [api, followUp, ignore],
  );

  const orderDetail = useCallback((id: number) => api.order(id), [api]);

  const switchAccount = useCallback(
    (userId: number, password?: string) => void login(userId, password),
    [login],
  );
  const listen = useCallback((fn: Listener) => {
    listeners.current.add(fn);
    return () => void listeners.current.delete(fn);
  }, []);
  const select = useCallback((symbol: string) => dispatch({ type: 'select', symbol }), []);

  return {
    state,
    accountId: pendingAccount ?? state.userId,
    session: session ?? null,
    loginError,
    needPassword,
    isInstructor: session?.user.role === 'instructor' && state.userId === session.user.id,
    switchAccount,
    listen,
    reloadStocks: () => void loadStocks().catch(ignore),
    api,
    select,
    placeOrder,
    cancelOrder,
    orderDetail,
  };
}

// The instructor's dashboard data: the roster (every portfolio), settings, the
// house bots, scenarios and the trader being looked at. Loaded over REST on
// every (re)connect and reset, moved on by pushes (`portfolio` of every user,
// `order`, `leaderboard`, `settings`, `reset`). Bots have no push: polled.

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError } from './api';
import { applyOrder, applySnapshot, type OrderMap } from './orders';
import { applyLeaderRows, applyPortfolio, loadRoster, type Roster } from './roster';
import type { BotsState, LeaderRow, LedgerEntry, Order, Portfolio, ScenarioInfo, Settings } from './types';
import type { Exchange } from './useExchange';

const BOTS_POLL_MS = 2000;
const POLL_MS = 4000;
const MISSING_RETRY_MS = 1000;
const MISSING_RETRIES = 30;
const ROSTER_DEBOUNCE_MS = 1500;
export const RESET_RELOADS_MS = [1500, 4000];

export interface Detail {
  userId: number;
  orders: OrderMap;
  ledger: LedgerEntry[] | null;
  error: string | null;
}

export interface Dashboard {
  roster: Roster;
  rosterError: string | null;
  settings: Settings | null;
  bots: BotsState | null;
  botsError: string | null;
  scenarios: ScenarioInfo[] | null;
  scenariosError: string | null;
  detail: Detail | null;
  openDetail(userId: number | null): void;
  refresh(): void;
  refreshBots(): Promise<void>;
  refreshScenarios(): Promise<void>;
  setSettings(s: Settings): void;
  setBots(b: BotsState): void;
}

export function message(exc: unknown): string {
  if (exc instanceof ApiError) return exc.message;
  return exc instanceof Error ? exc.message : String(exc);
}

export function useDashboard(ex: Exchange, active: boolean): Dashboard {
  const { api, listen } = ex;
  const [roster, setRoster] = useState<Roster>({});
  const [rosterError, setRosterError] = useState<string | null>(null);
  const [settings, setSettings] = useState<Settings | null>(null);
  const [bots, setBots] = useState<BotsState | null>(null);
  const [botsError, setBotsError] = useState<string | null>(null);
  const [scenarios, setScenarios] = useState<ScenarioInfo[] | null>(null);
  const [scenariosError, setScenariosError] = useState<string | null>(null);
  const [detail, setDetail] = useState<Detail | null>(null);
  const detailId = useRef<number | null>(null);
  const rosterTimer = useRef<number | undefined>(undefined);

  const loadRosterNow = useCallback(async () => {
    try {
      const list = await api.portfolios();
      setRoster(loadRoster(list));
      setRosterError(null);
    } catch (exc) {
      setRosterError(message(exc));
    }
  }, [api]);

  /** Trade counts come with the portfolios list: reload it shortly after activity, at most once per debounce. */
  const rosterSoon = useCallback(() => {
    if (rosterTimer.current !== undefined) return;
    rosterTimer.current = window.setTimeout(() => {
      rosterTimer.current = undefined;
      void loadRosterNow();
    }, ROSTER_DEBOUNCE_MS);
  }, [loadRosterNow]);

  const refreshBots = useCallback(async () => {
    try {
      setBots(await api.bots());
      setBotsError(null);
    } catch (exc) {
      setBotsError(message(exc));
    }
  }, [api]);

  const refreshScenarios = useCallback(async () => {
    try {
      setScenarios(await api.scenarios());
      setScenariosError(null);
    } catch (exc) {
      setScenariosError(message(exc));
    }
  }, [api]);

  const loadDetail = useCallback(
    async (userId: number) => {
      const [orders, ledger] = await Promise.allSettled([api.ordersOf(userId, 500), api.ledger(userId, 200)]);
      if (detailId.current !== userId) return;
      setDetail((d) => {
        if (!d || d.userId !== userId) return d;
        const errors: string[] = [];
        let next = d;
        if (orders.status === 'fulfilled') next = { ...next, orders: applySnapshot({}, orders.value) };
        else errors.push(`orders: ${message(orders.reason)}`);
        if (ledger.status === 'fulfilled') next = { ...next, ledger: ledger.value };
        else errors.push(`fills: ${message(ledger.reason)}`);
        return { ...next, error: errors.length ? errors.join('; ') : null };
      });
    },
    [api],
  );

  const openDetail = useCallback(
    (userId: number | null) => {
      detailId.current = userId;
      if (userId === null) {
        setDetail(null);
        return;
      }
      setDetail({ userId, orders: {}, ledger: null, error: null });
      void loadDetail(userId);
    },
    [loadDetail],
  );

  const refresh = useCallback(() => {
    void loadRosterNow();
    void api
      .settings()
      .then(setSettings)
      .catch(() => undefined);
    void refreshBots();
    void refreshScenarios();
    if (detailId.current !== null) void loadDetail(detailId.current);
  }, [api, loadRosterNow, refreshBots, refreshScenarios, loadDetail]);

  // pushes
  useEffect(() => {
    if (!active) return;
    return listen((event, data) => {
      switch (event) {
        case 'connect':
          refresh();
          break;
        case 'reset':
          setDetail((d) => (d ? { ...d, orders: {}, ledger: null } : d));
          refresh();
          // every service resets on its own event: one that has not yet done so
          // still answers with the old state, so look again shortly
          for (const ms of RESET_RELOADS_MS) window.setTimeout(refresh, ms);
          break;
        case 'portfolio': {
          const p = data as Portfolio;
          setRoster((r) => {
            if (!r[p.user_id]) rosterSoon();
            return applyPortfolio(r, p);
          });
          if (detailId.current === p.user_id) rosterSoon();
          break;
        }
        case 'order': {
          const o = data as Order;
          if (detailId.current === o.user_id) {
            setDetail((d) => (d && d.userId === o.user_id ? { ...d, orders: applyOrder(d.orders, o) } : d));
            if (o.filled_qty > 0) void api.ledger(o.user_id, 200).then((ledger) => {
              setDetail((d) => (d && d.userId === o.user_id ? { ...d, ledger } : d));
            }, () => undefined);
          }
          if (o.filled_qty > 0) rosterSoon();
          break;
        }
        case 'leaderboard':
          if (Array.isArray(data)) setRoster((r) => applyLeaderRows(r, data as LeaderRow[]));
          break;
        case 'settings':
          setSettings(data as Settings);
          break;
        case 'user':
          rosterSoon();
          break;
      }
    });
  }, [active, listen, refresh, rosterSoon, api]);

  // A user just created is listed before user_portfolio has opened the account
  // (it learns of the user from an event): look again until every one is in,
  // a bounded number of times.
  const users = ex.state.users;
  const missing = useMemo(
    () => users.some((u) => u.role !== 'instructor' && !(u.id in roster)),
    [users, roster],
  );
  const [missingTries, setMissingTries] = useState(0);
  useEffect(() => {
    if (!active || !missing) {
      setMissingTries(0);
      return;
    }
    if (missingTries >= MISSING_RETRIES) return;
    // (not reset by the pushes that keep changing the roster meanwhile)
    const timer = window.setTimeout(() => {
      void loadRosterNow().finally(() => setMissingTries((n) => n + 1));
    }, MISSING_RETRY_MS);
    return () => window.clearTimeout(timer);
  }, [active, missing, missingTries, loadRosterNow]);

  // without the socket, keep the dashboard current over REST (as the trading screen does)
  const disconnected = ex.state.connection === 'disconnected';
  useEffect(() => {
    if (!active || !disconnected) return;
    const timer = window.setInterval(refresh, POLL_MS);
    return () => window.clearInterval(timer);
  }, [active, disconnected, refresh]);

  // first load when the dashboard opens
  useEffect(() => {
    if (active) refresh();
  }, [active, refresh]);

  // the bots' counters have no push
  useEffect(() => {
    if (!active) return;
    const timer = window.setInterval(() => {
      if (!document.hidden && !botsErrorRef.current) void refreshBots();
    }, BOTS_POLL_MS);
    return () => window.clearInterval(timer);
  }, [active, refreshBots]);
  const botsErrorRef = useRef<string | null>(null);
  botsErrorRef.current = botsError;

  useEffect(() => () => window.clearTimeout(rosterTimer.current), []);

  return {
    roster,
    rosterError,
    settings,
    bots,
    botsError,
    scenarios,
    scenariosError,
    detail,
    openDetail,
    refresh,
    refreshBots,
    refreshScenarios,
    setSettings,
    setBots,
  };
}

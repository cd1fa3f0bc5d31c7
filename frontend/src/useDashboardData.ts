// Keeps the instructor's dashboard data current while the dashboard is shown:
// everything over REST when it opens, on every (re)connect and reset, and
// every few seconds while the socket is down; pushes move the roster and the
// drilled-into trader on (in the reducer), and the trade counts, which come
// with the portfolios list, are reloaded shortly after activity. The bots
// have no push: polled.

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Action } from './actions';
import type { Api } from './api';
import { createDashboardLoaders, type DashboardLoaders } from './dashboardLoaders';
import { POLL_MS, RESET_RELOADS_MS } from './liveFeed';
import { missingFromRoster } from './roster';
import type { State } from './state';
import type { Order, Portfolio } from './types';
import type { Feed } from './useLiveFeed';

const BOTS_POLL_MS = 2000;
const MISSING_RETRY_MS = 1000;
const MISSING_RETRIES = 30;
const ROSTER_DEBOUNCE_MS = 1500;

export interface DashboardData {
  loaders: DashboardLoaders;
  /** drill into a trader (null: close the detail) */
  openDetail(userId: number | null): void;
}

export function useDashboardData(
  api: Api,
  dispatch: (a: Action) => void,
  state: State,
  feed: Feed,
  active: boolean,
): DashboardData {
  const loaders = useMemo(() => createDashboardLoaders(api, dispatch), [api, dispatch]);
  const stateRef = useRef(state);
  stateRef.current = state;
  // which trader is drilled into, for the push handlers (the state's may not be rendered yet)
  const detailId = useRef<number | null>(null);
  const rosterTimer = useRef<number | undefined>(undefined);

  /** Reloads the roster shortly, at most once per debounce. */
  const rosterSoon = useCallback(() => {
    if (rosterTimer.current !== undefined) return;
    rosterTimer.current = window.setTimeout(() => {
      rosterTimer.current = undefined;
      void loaders.roster();
    }, ROSTER_DEBOUNCE_MS);
  }, [loaders]);
  useEffect(() => () => window.clearTimeout(rosterTimer.current), []);

  const refresh = useCallback(() => {
    void loaders.roster();
    void loaders.settings();
    void loaders.bots();
    void loaders.scenarios();
    if (detailId.current !== null) void loaders.detail(detailId.current);
  }, [loaders]);

  const openDetail = useCallback(
    (userId: number | null) => {
      detailId.current = userId;
      dispatch({ type: 'detail-opened', userId });
      if (userId !== null) void loaders.detail(userId);
    },
    [loaders, dispatch],
  );

  useEffect(() => {
    if (!active) return;
    return feed.listen((event, data) => {
      switch (event) {
        case 'connect':
          refresh();
          break;
        case 'reset':
          refresh();
          for (const ms of RESET_RELOADS_MS) window.setTimeout(refresh, ms);
          break;
        case 'portfolio': {
          // a user the roster does not have yet, or the one drilled into: reload the list
          const p = data as Portfolio;
          if (!stateRef.current.dash.roster[p.user_id] || detailId.current === p.user_id) rosterSoon();
          break;
        }
        case 'order': {
          const o = data as Order;
          if (o.filled_qty > 0) {
            if (detailId.current === o.user_id) void loaders.ledger(o.user_id);
            rosterSoon();
          }
          break;
        }
        case 'user':
          rosterSoon();
          break;
      }
    });
  }, [active, feed, refresh, rosterSoon, loaders]);

  // A user just created is listed before user_portfolio has opened the account
  // (it learns of the user from an event): look again until every one is in,
  // a bounded number of times (not restarted by the pushes that keep changing
  // the roster meanwhile).
  const missing = useMemo(() => missingFromRoster(state.users, state.dash.roster), [state.users, state.dash.roster]);
  const [missingTries, setMissingTries] = useState(0);
  useEffect(() => {
    if (!active || !missing) {
      setMissingTries(0);
      return;
    }
    if (missingTries >= MISSING_RETRIES) return;
    const timer = window.setTimeout(() => {
      void loaders.roster().finally(() => setMissingTries((n) => n + 1));
    }, MISSING_RETRY_MS);
    return () => window.clearTimeout(timer);
  }, [active, missing, missingTries, loaders]);

  // without the socket, keep the dashboard current over REST (as the trading screen does)
  const disconnected = state.connection === 'disconnected';
  useEffect(() => {
    if (!active || !disconnected) return;
    const timer = window.setInterval(refresh, POLL_MS);
    return () => window.clearInterval(timer);
  }, [active, disconnected, refresh]);

  // first load when the dashboard opens
  useEffect(() => {
    if (active) refresh();
  }, [active, refresh]);

  // the bots' counters have no push; after a failed load only "retry" asks again
  const botsFailed = state.dash.botsError !== null;
  useEffect(() => {
    if (!active || botsFailed) return;
    const timer = window.setInterval(() => {
      if (!document.hidden) void loaders.bots();
    }, BOTS_POLL_MS);
    return () => window.clearInterval(timer);
  }, [active, botsFailed, loaders]);

  return useMemo(() => ({ loaders, openDetail }), [loaders, openDetail]);
}

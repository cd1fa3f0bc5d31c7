// The trading screen's REST loading: public data at once, everything again on
// every (re)connect and reset, the selected symbol's chart, book and tape when
// it changes, the stock and user lists when a push says they changed, and
// every few seconds while the socket is down.

import { useCallback, useEffect, useMemo, useRef } from 'react';
import type { Action } from './actions';
import { coalescer, POLL_MS, RESET_RELOADS_MS } from './liveFeed';
import type { SessionKeeper } from './session';
import { createLoaders, ignore, type Loaders } from './snapshots';
import type { State } from './state';
import { storeSymbol } from './storage';
import type { Feed } from './useLiveFeed';

/** A burst of `stock` or `user` pushes is one reload, this long after the first. */
const LIST_RELOAD_MS = 250;

export interface Snapshots {
  loaders: Loaders;
  /** everything over REST (`replaceOrders`: the orders snapshot replaces those held) */
  refetchAll(replaceOrders?: boolean): Promise<void>;
}

export function useSnapshots(keeper: SessionKeeper, dispatch: (a: Action) => void, state: State, feed: Feed): Snapshots {
  const stateRef = useRef(state);
  stateRef.current = state;
  const marketPushes = useRef(0);
  const loaders = useMemo(() => createLoaders(keeper, dispatch, () => marketPushes.current), [keeper, dispatch]);

  const refetchAll = useCallback(
    async (replaceOrders = false) => {
      const stocks = await loaders.stocks().catch(() => stateRef.current.stocks);
      feed.subscribe(stocks.map((s) => s.symbol));
      await Promise.all([
        loaders.market().catch(ignore),
        loaders.account(replaceOrders).catch(ignore),
        loaders.settings().catch(ignore),
        loaders.symbol(stateRef.current.selected).catch(ignore),
      ]);
    },
    [loaders, feed],
  );

  // public data at once, before the account is known
  useEffect(() => {
    void loaders.stocks().catch(ignore);
    void loaders.market().catch(ignore);
  }, [loaders]);

  useEffect(() => {
    const lists = coalescer(LIST_RELOAD_MS);
    const stop = feed.listen((event) => {
      switch (event) {
        case 'connect':
          void refetchAll();
          break;
        case 'market':
          marketPushes.current += 1;
          break;
        case 'stock':
        case 'delisted':
          lists.soon('stock', () => void loaders.stocks().catch(ignore));
          break;
        case 'user':
          lists.soon('user', () => void loaders.users().catch(ignore));
          break;
        case 'reset':
          void refetchAll();
          // what a snapshot brings then replaces what is held (orders of the new epoch only)
          for (const ms of RESET_RELOADS_MS) window.setTimeout(() => void refetchAll(true), ms);
          break;
      }
    });
    return () => {
      stop();
      lists.cancel();
    };
  }, [feed, loaders, refetchAll]);

  // the account's data for each token, whether or not the socket comes up
  const token = state.session.current === undefined ? undefined : (state.session.current?.token ?? null);
  useEffect(() => {
    if (token !== undefined) void loaders.account().catch(ignore);
  }, [token, loaders]);

  // subscribe again when the list of symbols changes while connected
  const symbolsKey = state.stocks.map((s) => s.symbol).join(',');
  useEffect(() => {
    if (symbolsKey) feed.subscribe(symbolsKey.split(','));
  }, [symbolsKey, feed]);

  // without the socket, keep the screen current over REST
  useEffect(() => {
    if (state.connection !== 'disconnected') return;
    const timer = window.setInterval(() => void refetchAll(), POLL_MS);
    return () => window.clearInterval(timer);
  }, [state.connection, refetchAll]);

  // the selected symbol's chart, book and tape
  useEffect(() => {
    if (!state.selected) return;
    storeSymbol(state.selected);
    void loaders.symbol(state.selected).catch(ignore);
  }, [state.selected, loaders]);

  return useMemo(() => ({ loaders, refetchAll }), [loaders, refetchAll]);
}

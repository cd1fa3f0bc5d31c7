// The live feed: one Socket.IO connection per token (an account switch
// reconnects with the new one). Every push goes to the reducer (liveFeed.ts
// maps it) and then to the listeners, the hooks that reload on it. A token
// the server refuses goes to the session keeper.

import { useCallback, useEffect, useMemo, useRef } from 'react';
import { io, type Socket } from 'socket.io-client';
import type { Action } from './actions';
import { isRevoked } from './errors';
import { pushAction, type FeedListener } from './liveFeed';
import type { SessionKeeper } from './session';

/** A refused connection is tried again after this long (socket.io does not retry it by itself). */
const REFUSED_RETRY_MS = 5000;

export interface Feed {
  /** hear every push, and `connect` on each (re)connect; returns the unsubscribe */
  listen(fn: FeedListener): () => void;
  /** ask for the pushes of these symbols (when connected) */
  subscribe(symbols: string[]): void;
  connected(): boolean;
}

/** `token`: undefined while the first login is not decided (no socket yet), null for anonymous. */
export function useLiveFeed(token: string | null | undefined, keeper: SessionKeeper, dispatch: (a: Action) => void): Feed {
  const socketRef = useRef<Socket | null>(null);
  const listeners = useRef(new Set<FeedListener>());
  const tell = useCallback((event: string, data: unknown) => {
    for (const fn of listeners.current) fn(event, data);
  }, []);

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
    let retry: number | undefined;
    const retryLater = () => {
      window.clearTimeout(retry);
      retry = window.setTimeout(() => socket.connect(), REFUSED_RETRY_MS);
    };
    socket.on('connect', () => {
      dispatch({ type: 'connection', connection: 'connected' });
      tell('connect', null);
    });
    socket.on('disconnect', (reason) => {
      dispatch({ type: 'connection', connection: 'disconnected' });
      if (reason === 'io server disconnect') retryLater();
    });
    socket.on('connect_error', (err: Error) => {
      dispatch({ type: 'connection', connection: 'disconnected' });
      if (!socket.active) {
        // refused: a token a reset revoked is renewed at once (a new socket follows the new token)
        if (token && isRevoked(err.message)) void keeper.renew(token);
        else keeper.signInAgain();
        retryLater();
      }
    });
    socket.onAny((event: string, data: unknown) => {
      const action = pushAction(event, data);
      if (action) dispatch(action);
      // the gateway signs out a socket whose token a reset revoked: log in again
      if (event === 'revoked' && token) void keeper.renew(token);
      if (event === 'reset') keeper.afterReset();
      tell(event, data);
    });
    return () => {
      window.clearTimeout(retry);
      socket.removeAllListeners();
      socket.offAny();
      socket.disconnect();
      if (socketRef.current === socket) socketRef.current = null;
    };
  }, [token, keeper, dispatch, tell]);

  return useMemo(
    () => ({
      listen(fn: FeedListener) {
        listeners.current.add(fn);
        return () => void listeners.current.delete(fn);
      },
      subscribe(symbols: string[]) {
        const socket = socketRef.current;
        if (socket?.connected) socket.emit('subscribe', { symbols });
      },
      connected: () => socketRef.current?.connected ?? false,
    }),
    [],
  );
}

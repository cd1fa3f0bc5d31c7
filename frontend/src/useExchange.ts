// The live connection to the exchange, put together: one reducer (state.ts)
// that the session (useSession), the live feed (useLiveFeed), the REST
// snapshots (useSnapshots) and the dashboard's data (useDashboardData) feed,
// and the commands the screens call. Nothing here talks to the API itself.

import { useCallback, useMemo, useReducer } from 'react';
import { dashboardCommands, tradingCommands, type DashboardCommands, type TradingCommands } from './commands';
import { ignore } from './snapshots';
import { initialState, reducer, type State } from './state';
import { storedSymbol } from './storage';
import type { Session } from './types';
import { useDashboardData } from './useDashboardData';
import { useLiveFeed } from './useLiveFeed';
import { useSession } from './useSession';
import { useSnapshots } from './useSnapshots';

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
  select(symbol: string): void;
  trading: TradingCommands;
  dashboard: DashboardCommands;
  /** drill into a trader on the dashboard (null: close the detail) */
  openDetail(userId: number | null): void;
  /** keep the class leaderboard loaded while a trader's drop-down is open; returns the stop */
  watchLeaderboard(): () => void;
}

export function useExchange(): Exchange {
  const [state, dispatch] = useReducer(reducer, initialState, (s) => ({ ...s, selected: storedSymbol() }));
  const keeper = useSession(dispatch);
  const { current: session, pendingAccount, loginError, needPassword } = state.session;
  const token = session === undefined ? undefined : (session?.token ?? null);
  const feed = useLiveFeed(token, keeper, dispatch);
  const { loaders } = useSnapshots(keeper, dispatch, state, feed);
  const isInstructor = session?.user.role === 'instructor' && state.userId === session.user.id;
  const dashData = useDashboardData(keeper.api, dispatch, state, feed, isInstructor);

  const trading = useMemo(
    () => tradingCommands(keeper.api, dispatch, feed.connected, () => void loaders.account().catch(ignore)),
    [keeper, feed, loaders],
  );
  const dashboard = useMemo(
    () => dashboardCommands(keeper.api, dispatch, dashData.loaders, () => void loaders.stocks().catch(ignore)),
    [keeper, dashData.loaders, loaders],
  );

  const watchLeaderboard = useCallback(() => {
    dispatch({ type: 'leaderboard-opened' });
    void loaders.leaderboard();
    return feed.listen((event) => {
      if (event === 'connect' || event === 'reset') void loaders.leaderboard();
    });
  }, [loaders, feed]);

  const switchAccount = useCallback((userId: number, password?: string) => void keeper.login(userId, password), [keeper]);
  const select = useCallback((symbol: string) => dispatch({ type: 'select', symbol }), []);

  return {
    state,
    accountId: pendingAccount ?? state.userId,
    session: session ?? null,
    loginError,
    needPassword,
    isInstructor,
    switchAccount,
    select,
    trading,
    dashboard,
    openDetail: dashData.openDetail,
    watchLeaderboard,
  };
}

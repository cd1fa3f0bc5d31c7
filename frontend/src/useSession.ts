// The session hook: one keeper for the page's life, and the first login when
// the page opens (the users first, then the remembered account).

import { useEffect, useMemo } from 'react';
import type { Action } from './actions';
import { firstAccount, SessionKeeper } from './session';
import { storedAccount, storedInstructorSession } from './storage';

/** Until the exchange answers, the first load is tried again this often. */
const START_RETRY_MS = 4000;

export function useSession(dispatch: (action: Action) => void): SessionKeeper {
  const keeper = useMemo(() => new SessionKeeper(dispatch), [dispatch]);

  useEffect(() => {
    let cancelled = false;
    let retry: number | undefined;
    const start = async () => {
      try {
        const users = await keeper.api.users();
        if (cancelled) return;
        dispatch({ type: 'users', users });
        const first = firstAccount(users, storedAccount(), storedInstructorSession());
        if (!first) dispatch({ type: 'no-session' });
        else if ('adopt' in first) keeper.adopt(first.adopt);
        else await keeper.login(first.login);
      } catch {
        if (cancelled) return;
        dispatch({ type: 'no-session' });
        retry = window.setTimeout(() => void start(), START_RETRY_MS);
      }
    };
    void start();
    return () => {
      cancelled = true;
      window.clearTimeout(retry);
    };
  }, [keeper, dispatch]);

  return keeper;
}

// The instructor's dashboard data over REST: each loader hands its answer (or
// its error, for the panel that shows it) to the reducer's dashboard slice.

import type { Action } from './actions';
import type { Api } from './api';
import { errorText } from './errors';

export interface DashboardLoaders {
  roster(): Promise<void>;
  bots(): Promise<void>;
  scenarios(): Promise<void>;
  settings(): Promise<void>;
  /** the drilled-into trader's orders and fills; a part that fails is named in the detail's error */
  detail(userId: number): Promise<void>;
  ledger(userId: number): Promise<void>;
}

/** Awaits `load`; a failure goes to the reducer as the `what` panel's error. */
async function orFail(
  dispatch: (action: Action) => void,
  what: 'roster' | 'bots' | 'scenarios',
  load: () => Promise<Action>,
): Promise<void> {
  try {
    dispatch(await load());
  } catch (exc) {
    dispatch({ type: 'load-failed', what, message: errorText(exc) });
  }
}

export function createDashboardLoaders(api: Api, dispatch: (action: Action) => void): DashboardLoaders {
  return {
    roster: () => orFail(dispatch, 'roster', async () => ({ type: 'roster-loaded', list: await api.portfolios() })),
    bots: () => orFail(dispatch, 'bots', async () => ({ type: 'bots-loaded', bots: await api.bots() })),
    scenarios: () =>
      orFail(dispatch, 'scenarios', async () => ({ type: 'scenarios-loaded', scenarios: await api.scenarios() })),
    async settings() {
      // the form keeps showing the settings it has; the next refresh tries again
      await api.settings().then(
        (settings) => dispatch({ type: 'settings', settings }),
        () => undefined,
      );
    },
    async detail(userId) {
      const [orders, ledger] = await Promise.allSettled([api.ordersOf(userId, 500), api.ledger(userId, 200)]);
      const errors: string[] = [];
      if (orders.status === 'rejected') errors.push(`orders: ${errorText(orders.reason)}`);
      if (ledger.status === 'rejected') errors.push(`fills: ${errorText(ledger.reason)}`);
      dispatch({
        type: 'detail-loaded',
        userId,
        orders: orders.status === 'fulfilled' ? orders.value : null,
        ledger: ledger.status === 'fulfilled' ? ledger.value : null,
        error: errors.length ? errors.join('; ') : null,
      });
    },
    async ledger(userId) {
      await api.ledger(userId, 200).then(
        (ledger) => dispatch({ type: 'ledger-loaded', userId, ledger }),
        () => undefined,
      );
    },
  };
}

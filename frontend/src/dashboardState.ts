// The dashboard slice of the one reducer: the class roster, the house bots,
// the scenarios and the trader drilled into. The class settings are not here:
// the root state holds them once, for the order ticket and the dashboard.

import type { Action } from './actions';
import { applyOrder, applySnapshot, type OrderMap } from './orders';
import { applyLeaderRows, applyPortfolio, loadRoster, type Roster } from './roster';
import type { BotsState, LedgerEntry, ScenarioInfo } from './types';

export interface Detail {
  userId: number;
  orders: OrderMap;
  ledger: LedgerEntry[] | null;
  error: string | null;
}

export interface DashState {
  roster: Roster;
  rosterError: string | null;
  bots: BotsState | null;
  botsError: string | null;
  scenarios: ScenarioInfo[] | null;
  scenariosError: string | null;
  detail: Detail | null;
}

export const initialDash: DashState = {
  roster: {},
  rosterError: null,
  bots: null,
  botsError: null,
  scenarios: null,
  scenariosError: null,
  detail: null,
};

/** `fn` applied to the detail when it is `userId`'s; the same state otherwise. */
function withDetail(d: DashState, userId: number, fn: (detail: Detail) => Detail): DashState {
  return d.detail && d.detail.userId === userId ? { ...d, detail: fn(d.detail) } : d;
}

export function dashboardReducer(d: DashState, action: Action): DashState {
  switch (action.type) {
    case 'roster-loaded':
      return { ...d, roster: loadRoster(action.list), rosterError: null };
    case 'bots-loaded':
      return { ...d, bots: action.bots, botsError: null };
    case 'bots-changed':
      return { ...d, bots: action.bots };
    case 'scenarios-loaded':
      return { ...d, scenarios: action.scenarios, scenariosError: null };
    case 'load-failed':
      return { ...d, [`${action.what}Error`]: action.message };

    case 'detail-opened':
      return { ...d, detail: action.userId === null ? null : { userId: action.userId, orders: {}, ledger: null, error: null } };
    case 'detail-loaded':
      return withDetail(d, action.userId, (detail) => ({
        ...detail,
        orders: action.orders ? applySnapshot({}, action.orders) : detail.orders,
        ledger: action.ledger ?? detail.ledger,
        error: action.error,
      }));
    case 'ledger-loaded':
      return withDetail(d, action.userId, (detail) => ({ ...detail, ledger: action.ledger }));

    // pushes: instructors receive every user's portfolio and orders
    case 'portfolio': {
      const roster = applyPortfolio(d.roster, action.portfolio);
      return roster === d.roster ? d : { ...d, roster };
    }
    case 'order':
      return withDetail(d, action.order.user_id, (detail) => ({ ...detail, orders: applyOrder(detail.orders, action.order) }));
    case 'leaderboard': {
      const roster = applyLeaderRows(d.roster, action.rows);
      return roster === d.roster ? d : { ...d, roster };
    }
    case 'reset':
      return d.detail ? { ...d, detail: { ...d.detail, orders: {}, ledger: null } } : d;
    default:
      return d;
  }
}

// Every action the one reducer (state.ts) takes: REST snapshots, Socket.IO
// pushes, the session's steps and the instructor's dashboard data.

import type {
  ApiCandle,
  Book,
  BotsState,
  LeaderRow,
  LedgerEntry,
  Market,
  Order,
  Portfolio,
  PricePush,
  RosterPortfolio,
  ScenarioInfo,
  Session,
  Settings,
  Stock,
  Trade,
  User,
} from './types';

export type Connection = 'connecting' | 'connected' | 'disconnected';

/** Steps of logging in (sessionState.ts). */
export type SessionAction =
  | { type: 'login-started'; userId: number }
  /** a token is held for this user now: the screen shows that account */
  | { type: 'signed-in'; session: Session }
  | { type: 'login-failed'; message: string }
  /** nobody to log in as (or the exchange cannot be reached yet) */
  | { type: 'no-session' }
  /** the instructor's token was refused: the password has to be given again */
  | { type: 'password-needed' };

/** The trading screen's data (state.ts); pushes also move the dashboard on. */
export type MarketAction =
  | { type: 'users'; users: User[] }
  | { type: 'stocks'; stocks: Stock[] }
  | { type: 'price'; price: PricePush }
  | { type: 'market'; market: Market }
  | { type: 'portfolio'; portfolio: Portfolio }
  /** `replace`: the snapshot is the whole truth (after a reset, ids may come back) */
  | { type: 'orders'; userId: number; orders: Order[]; replace?: boolean }
  | { type: 'order'; order: Order }
  | { type: 'select'; symbol: string }
  | { type: 'book'; book: Book }
  | { type: 'trades'; symbol: string; trades: Trade[] }
  | { type: 'trade'; trade: Trade }
  | { type: 'candles'; symbol: string; candles: ApiCandle[] }
  | { type: 'connection'; connection: Connection }
  | { type: 'settings'; settings: Settings }
  /** a `leaderboard` push: the class ranked anew */
  | { type: 'leaderboard'; rows: LeaderRow[] }
  /** a trader opened the leaderboard drop-down: it shows "Loading…" until the rows come */
  | { type: 'leaderboard-opened' }
  /** GET /api/leaderboard answered: the error shown before is gone */
  | { type: 'leaderboard-loaded'; rows: LeaderRow[] }
  | { type: 'leaderboard-failed'; message: string }
  | { type: 'reset' };

/** The instructor's dashboard (dashboardState.ts). */
export type DashboardAction =
  | { type: 'roster-loaded'; list: RosterPortfolio[] }
  /** GET /api/bots answered: the error shown before is gone */
  | { type: 'bots-loaded'; bots: BotsState }
  /** a start, stop or config change answered with the bots' new state */
  | { type: 'bots-changed'; bots: BotsState }
  | { type: 'scenarios-loaded'; scenarios: ScenarioInfo[] }
  | { type: 'load-failed'; what: 'roster' | 'bots' | 'scenarios'; message: string }
  /** the trader drilled into (null: none) */
  | { type: 'detail-opened'; userId: number | null }
  /** the drilled-into trader's orders and ledger; null for the part that failed (named in `error`) */
  | { type: 'detail-loaded'; userId: number; orders: Order[] | null; ledger: LedgerEntry[] | null; error: string | null }
  | { type: 'ledger-loaded'; userId: number; ledger: LedgerEntry[] };

export type Action = SessionAction | MarketAction | DashboardAction;

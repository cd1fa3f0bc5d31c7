// Shapes of the papertrade public API (see shared DESIGN.md, "Public contract").
// Money and prices are decimal strings exactly as the server sent them.

export type Role = 'trader' | 'instructor' | 'bot';

export interface User {
  id: number;
  name: string;
  role: Role | string;
}

export interface Session {
  token: string;
  user: User;
}

export interface Position {
  symbol: string;
  qty: number;
  reserved_qty: number;
  avg_cost: string;
  last_price: string;
  market_value: string;
  unrealized_pl: string;
}

export interface Portfolio {
  user_id: number;
  name?: string;
  cash: string;
  reserved_cash: string;
  buying_power: string;
  equity: string;
  realized_pl: string;
  unrealized_pl: string;
  positions: Position[];
}

export interface Stock {
  symbol: string;
  name: string;
  reference_price: string;
  last_price: string;
  open: string | null;
  high: string | null;
  low: string | null;
  change_pct: string;
  volume: number;
  updated_at?: string;
}

/** `price` push: a stock's new last price and day statistics. */
export interface PricePush {
  symbol: string;
  last_price: string;
  open: string | null;
  high: string | null;
  low: string | null;
  volume: number;
  change_pct: string;
  trade_seq?: number;
}

export interface Candle {
  /** start of the minute, unix seconds (UTC) */
  time: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: number;
}

export interface ApiCandle {
  time: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: number;
}

export interface Trade {
  seq: number;
  symbol: string;
  price: string;
  qty: number;
  ts: string;
}

export interface BookLevel {
  price: string;
  qty: number;
  orders: number;
}

export interface Book {
  symbol: string;
  seq: number;
  bids: BookLevel[];
  asks: BookLevel[];
}

export type MarketStatus = 'open' | 'halted' | 'closed';

export interface Market {
  status: MarketStatus;
  changed_at?: string;
  /** when an open session closes by itself (null: no session length) */
  closes_at?: string | null;
}

export type Side = 'buy' | 'sell';
export type OrderType = 'market' | 'limit' | 'stop' | 'stop_limit';
export type TimeInForce = 'day' | 'gtc' | 'ioc' | 'fok';
export type OrderStatus =
  | 'pending_new'
  | 'new'
  | 'partially_filled'
  | 'pending_cancel'
  | 'filled'
  | 'canceled'
  | 'expired'
  | 'rejected'
  | 'replaced';

export interface Order {
  id: number;
  client_order_id: string | null;
  user_id: number;
  symbol: string;
  side: Side;
  type: OrderType;
  qty: number;
  limit_price: string | null;
  /** stops: the trade price that triggers them */
  stop_price?: string | null;
  /** stops: false while waiting for stop_price, true once triggered; null for other orders */
  triggered?: boolean | null;
  /** a replacement: the order it replaces */
  replaces?: number | null;
  /** the order replacing this one */
  replaced_by?: number | null;
  time_in_force: TimeInForce;
  status: OrderStatus;
  filled_qty: number;
  filled_avg_price: string | null;
  reject_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface OrderHistoryEntry {
  status: OrderStatus;
  filled_qty: number;
  detail: string | null;
  at: string;
}

export interface OrderDetail extends Order {
  history: OrderHistoryEntry[];
}

export interface OrderRequest {
  symbol: string;
  side: Side;
  type: OrderType;
  qty: number;
  limit_price?: string;
  stop_price?: string;
  time_in_force: TimeInForce;
  client_order_id?: string;
}

/** PATCH /api/orders/{id}: what the replacement changes (the rest as the old order has it) */
export interface ReplaceRequest {
  qty?: number;
  limit_price?: string;
  stop_price?: string;
  time_in_force?: TimeInForce;
  client_order_id?: string;
}

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

// ---- the instructor's dashboard (see the /api contract) ---------------------

export interface Settings {
  commission_per_share: string;
  max_position: number | null;
  max_order_qty: number | null;
}

/** GET /api/portfolios (instructor): one entry per user. */
export interface RosterPortfolio extends Portfolio {
  name: string;
  role: Role | string;
  trades: number;
  starting_equity: string;
  return_pct: string;
}

export interface LeaderRow {
  rank?: number;
  user_id: number;
  name: string;
  role?: Role | string;
  equity: string;
  return_pct: string;
  realized_pl: string;
  unrealized_pl: string;
  cash?: string;
  trades?: number;
}

export interface LedgerEntry {
  id: number;
  ts: string;
  kind: string;
  symbol: string | null;
  qty: number | null;
  amount: string;
  ref: string | number | null;
}

export interface Simulation {
  epoch: number;
  reset_at: string | null;
  /** traders' and bots' tokens of earlier epochs are refused (a reset revoked them) */
  tokens_valid_from_epoch: number;
}

export interface BulkUsersRequest {
  count?: number;
  prefix?: string;
  csv?: string;
  starting_cash: string;
  holdings: Record<string, number>;
}

export interface FairValue {
  volatility_pct: string;
  drift_pct: string;
  /** how fast the fair value pulls back to the reference (not in the dashboard's form; kept as is) */
  reversion_pct?: string;
  seed: number | null;
}

export interface BotsConfig {
  market_makers: number;
  noise_traders: number;
  momentum_traders: number;
  value_traders: number;
  aggressiveness: string;
  symbols: string[] | null;
  fair_value: FairValue;
}

export interface BotInfo {
  user_id: number;
  name: string;
  kind: string;
  orders_sent: number;
  rejected: number;
  last_error: string | null;
}

export interface BotsState {
  running: boolean;
  config: BotsConfig;
  bots: BotInfo[];
  started_at: string | null;
}

export interface ScenarioInfo {
  name: string;
  description: string;
  builtin: boolean;
}

export interface Scenario {
  name: string;
  description: string;
  stocks: { symbol: string; name: string; reference_price: string }[];
  traders: { count: number; prefix: string; starting_cash: string; holdings: Record<string, number> };
  settings: Partial<Settings>;
  bots: BotsConfig;
  session_minutes: number | null;
}

export interface ScenarioLoaded {
  epoch: number;
  stocks: unknown[];
  traders: unknown[];
  bots: unknown;
}

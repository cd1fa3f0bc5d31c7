// What the screens can do: each command sends one request and hands the answer
// to the reducer (or reloads what it changed). Components call these; they
// never see the API client.

import type { Action } from './actions';
import type { Api } from './api';
import type { DashboardLoaders } from './dashboardLoaders';
import { stripDetail } from './liveFeed';
import type { BotsConfig, BulkUsersRequest, Order, OrderDetail, OrderRequest, ReplaceRequest, Scenario, ScenarioLoaded, Settings, User } from './types';

export interface TradingCommands {
  placeOrder(order: OrderRequest): Promise<Order>;
  cancelOrder(id: number): Promise<void>;
  /** replace an open order in one step; resolves to the replacement */
  replaceOrder(id: number, changes: ReplaceRequest): Promise<Order>;
  /** the order with its status history */
  orderDetail(id: number): Promise<OrderDetail>;
}

export type CsvExport = 'trades' | 'orders' | 'leaderboard' | 'portfolios';

export interface DashboardCommands {
  market(action: 'open' | 'halt' | 'close', sessionMinutes?: number | null): Promise<void>;
  /** `revokeTokens`: also sign every trader and bot out */
  reset(revokeTokens: boolean): Promise<void>;
  /** fetches the export with the bearer token and hands it to the browser as a download */
  exportCsv(what: CsvExport): Promise<void>;
  saveSettings(changes: Partial<Settings>): Promise<void>;
  createTraders(body: BulkUsersRequest): Promise<User[]>;
  listStock(symbol: string, name: string, referencePrice: string): Promise<void>;
  delistStock(symbol: string): Promise<void>;
  saveBotsConfig(config: BotsConfig): Promise<void>;
  startBots(config?: BotsConfig): Promise<void>;
  stopBots(): Promise<void>;
  retryBots(): void;
  saveScenario(doc: Scenario): Promise<void>;
  loadScenario(name: string, startBots: boolean): Promise<ScenarioLoaded>;
}

/** After a command, without live pushes, look again shortly. */
const FOLLOW_UP_MS = [400, 1500];

/**
 * `connected`: whether pushes are coming (else the account is reloaded
 * shortly after each command); `reloadAccount`: the trader's portfolio and
 * orders over REST.
 */
export function tradingCommands(
  api: Api,
  dispatch: (action: Action) => void,
  connected: () => boolean,
  reloadAccount: () => void,
): TradingCommands {
  const followUp = () => {
    if (connected()) return;
    for (const ms of FOLLOW_UP_MS) setTimeout(reloadAccount, ms);
  };
  return {
    async placeOrder(order) {
      const placed = await api.placeOrder(order);
      dispatch({ type: 'order', order: placed });
      followUp();
      return placed;
    },
    async cancelOrder(id) {
      try {
        await api.cancelOrder(id);
      } finally {
        // 202 (cancel under way) or 409 (already final): show what it is now
        api.order(id).then(
          (o) => dispatch({ type: 'order', order: stripDetail(o) }),
          () => undefined,
        );
        followUp();
      }
    },
    async replaceOrder(id, changes) {
      const replacement = await api.replaceOrder(id, changes);
      dispatch({ type: 'order', order: replacement });
      followUp();
      return replacement;
    },
    orderDetail: (id) => api.order(id),
  };
}

/** Hands a fetched file to the browser as a download (a Blob link, clicked once). */
function save(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** `reloadStocks`: the stock list (a delisting has no push of its own). */
export function dashboardCommands(
  api: Api,
  dispatch: (action: Action) => void,
  loaders: DashboardLoaders,
  reloadStocks: () => void,
): DashboardCommands {
  return {
    async market(action, sessionMinutes) {
      await api.marketAction(action, sessionMinutes);
    },
    async reset(revokeTokens) {
      await api.reset(revokeTokens);
    },
    async exportCsv(what) {
      save(await api.download(`/api/exports/${what}.csv`), `papertrade-${what}.csv`);
    },
    async saveSettings(changes) {
      dispatch({ type: 'settings', settings: await api.putSettings(changes) });
    },
    createTraders: (body) => api.bulkUsers(body),
    async listStock(symbol, name, referencePrice) {
      await api.listStock(symbol, name, referencePrice);
      reloadStocks();
    },
    async delistStock(symbol) {
      await api.delistStock(symbol);
      reloadStocks();
    },
    async saveBotsConfig(config) {
      await api.putBotsConfig(config);
      dispatch({ type: 'bots-changed', bots: await api.bots() });
    },
    async startBots(config) {
      dispatch({ type: 'bots-changed', bots: await api.startBots(config) });
    },
    async stopBots() {
      dispatch({ type: 'bots-changed', bots: await api.stopBots() });
    },
    retryBots: () => void loaders.bots(),
    async saveScenario(doc) {
      await api.saveScenario(doc);
      void loaders.scenarios();
    },
    loadScenario: (name, startBots) => api.loadScenario(name, startBots),
  };
}

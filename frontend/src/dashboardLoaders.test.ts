import { describe, expect, it } from 'vitest';
import type { Action } from './actions';
import type { Api } from './api';
import { dashboardCommands } from './commands';
import { createDashboardLoaders } from './dashboardLoaders';

function fakeApi(answers: Record<string, (...args: unknown[]) => Promise<unknown>>) {
  const calls: string[] = [];
  const api = new Proxy({} as Api, {
    get: (_t, name: string) => (...args: unknown[]) => {
      calls.push(name);
      const fn = answers[name];
      return fn ? fn(...args) : Promise.reject(new Error(`unexpected ${name}`));
    },
  });
  return { api, calls };
}

describe('dashboard loaders', () => {
  it("hand each answer to the reducer, and each failure to its panel's error", async () => {
    const actions: Action[] = [];
    const { api } = fakeApi({
      portfolios: async () => [],
      bots: () => Promise.reject(new Error('bots are off')),
      settings: () => Promise.reject(new Error('ignored')),
    });
    const loaders = createDashboardLoaders(api, (a) => actions.push(a));
    await loaders.roster();
    await loaders.bots();
    await loaders.settings();
    expect(actions).toEqual([
      { type: 'roster-loaded', list: [] },
      { type: 'load-failed', what: 'bots', message: 'bots are off' },
    ]);
  });

  it('name the part of the detail that failed and keep the other', async () => {
    const actions: Action[] = [];
    const { api } = fakeApi({ ordersOf: async () => [], ledger: () => Promise.reject(new Error('down')) });
    await createDashboardLoaders(api, (a) => actions.push(a)).detail(4);
    expect(actions).toEqual([{ type: 'detail-loaded', userId: 4, orders: [], ledger: null, error: 'fills: down' }]);
  });
});

describe('dashboard commands', () => {
  it("hand the answer to the reducer, or reload what changed", async () => {
    const actions: Action[] = [];
    const bots = { running: true };
    const settings = { commission_per_share: '0.05', max_position: null, max_order_qty: null };
    const { api, calls } = fakeApi({
      putBotsConfig: async () => ({}),
      bots: async () => bots,
      putSettings: async () => settings,
      delistStock: async () => undefined,
      saveScenario: async () => ({}),
      scenarios: async () => [],
    });
    let stockReloads = 0;
    const loaders = createDashboardLoaders(api, (a) => actions.push(a));
    const commands = dashboardCommands(api, (a) => actions.push(a), loaders, () => (stockReloads += 1));
    await commands.saveBotsConfig({} as never);
    await commands.saveSettings({ commission_per_share: '0.05' });
    await commands.delistStock('AAPL');
    await commands.saveScenario({ name: 'x' } as never);
    await Promise.resolve();
    expect(actions.slice(0, 2)).toEqual([
      { type: 'bots-changed', bots },
      { type: 'settings', settings },
    ]);
    expect(stockReloads).toBe(1);
    expect(calls).toContain('scenarios');
  });
});

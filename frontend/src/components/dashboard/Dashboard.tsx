import { useMemo, useState } from 'react';
import { parseSessionMinutes } from '../../countdown';
import { rosterLeaderRows } from '../../roster';
import type { Market, Stock, User } from '../../types';
import type { Dashboard as Data } from '../../useDashboard';
import type { Exchange } from '../../useExchange';
import { LeaderboardPanel } from '../LeaderboardPanel';
import { BotsPanel } from './BotsPanel';
import { ControlBar } from './ControlBar';
import { RosterPanel } from './RosterPanel';
import { ScenariosForm } from './ScenariosForm';
import { SettingsForm } from './SettingsForm';
import { StocksForm } from './StocksForm';
import { TraderDetail } from './TraderDetail';
import { TradersForm, type TraderDefaults } from './TradersForm';

type Tab = 'traders' | 'stocks' | 'settings' | 'scenarios';
const TABS: { key: Tab; label: string }[] = [
  { key: 'traders', label: 'Traders' },
  { key: 'stocks', label: 'Stocks' },
  { key: 'settings', label: 'Settings' },
  { key: 'scenarios', label: 'Scenarios' },
];

interface Props {
  ex: Exchange;
  data: Data;
  users: User[];
  stocks: Stock[];
  market: Market | null;
}

/** The instructor's screen: run a whole class session from here. */
export function Dashboard({ ex, data, users, stocks, market }: Props) {
  const [tab, setTab] = useState<Tab>('traders');
  const [showBots, setShowBots] = useState(false);
  const [sessionMinutes, setSessionMinutes] = useState('');
  const [defaults, setDefaults] = useState<TraderDefaults>({ prefix: 'Student', cash: '100000', holdings: '' });
  const leaders = useMemo(() => rosterLeaderRows(data.roster), [data.roster]);
  const traderCount = users.filter((u) => u.role === 'trader').length;
  const minutes = parseSessionMinutes(sessionMinutes);

  return (
    <main className="dash" data-testid="dashboard">
      <ControlBar api={ex.api} market={market} sessionMinutes={sessionMinutes} onSessionMinutes={setSessionMinutes} />
      <div className="dash-grid">
        <div className="dash-col dash-main">
          <div className="area-roster">
            <RosterPanel users={users} roster={data.roster} error={data.rosterError} selected={data.detail?.userId ?? null} onSelect={data.openDetail} />
          </div>
          <div className="area-detail">
            <TraderDetail detail={data.detail} roster={data.roster} users={users} onClose={() => data.openDetail(null)} />
          </div>
        </div>
        <div className="dash-col dash-side">
          <div className="area-leaders">
            <LeaderboardPanel rows={data.rosterError ? null : leaders} showBots={showBots} onShowBots={setShowBots} error={data.rosterError} />
          </div>
          <div className="area-bots">
            <BotsPanel api={ex.api} bots={data.bots} error={data.botsError} onBots={data.setBots} onRetry={() => void data.refreshBots()} />
          </div>
        </div>
        <div className="dash-col dash-setup">
          <section className="panel setup" aria-label="Class setup" data-testid="setup">
            <div className="panel-head tabs" role="tablist">
              <h2>Class setup</h2>
              {TABS.map((t) => (
                <button
                  key={t.key}
                  type="button"
                  role="tab"
                  aria-selected={tab === t.key}
                  className={`tab ${tab === t.key ? 'active' : ''}`}
                  data-testid={`setup-tab-${t.key}`}
                  onClick={() => setTab(t.key)}
                >
                  {t.label}
                </button>
              ))}
            </div>
            <div className="panel-body scroll pad">
              {tab === 'traders' && <TradersForm api={ex.api} defaults={defaults} onDefaults={setDefaults} />}
              {tab === 'stocks' && <StocksForm api={ex.api} stocks={stocks} onChanged={ex.reloadStocks} />}
              {tab === 'settings' && <SettingsForm api={ex.api} settings={data.settings} onSettings={data.setSettings} />}
              {tab === 'scenarios' && (
                <ScenariosForm
                  api={ex.api}
                  scenarios={data.scenarios}
                  error={data.scenariosError}
                  onChanged={() => void data.refreshScenarios()}
                  current={{
                    stocks,
                    traderCount,
                    defaults,
                    settings: data.settings,
                    bots: data.bots?.config ?? null,
                    sessionMinutes: 'minutes' in minutes ? minutes.minutes : null,
                  }}
                />
              )}
            </div>
          </section>
        </div>
      </div>
    </main>
  );
}

import { useMemo, useState } from 'react';
import { parseSessionMinutes } from '../../countdown';
import { rosterLeaderRows } from '../../roster';
import type { DashboardCommands } from '../../commands';
import type { DashState } from '../../dashboardState';
import type { Market, Settings, Stock, User } from '../../types';
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
  commands: DashboardCommands;
  data: DashState;
  settings: Settings | null;
  users: User[];
  stocks: Stock[];
  market: Market | null;
  openDetail(userId: number | null): void;
}

/** The instructor's screen: run a whole class session from here. */
export function Dashboard({ commands, data, settings, users, stocks, market, openDetail }: Props) {
  const [tab, setTab] = useState<Tab>('traders');
  const [showBots, setShowBots] = useState(false);
  const [sessionMinutes, setSessionMinutes] = useState('');
  const [defaults, setDefaults] = useState<TraderDefaults>({ prefix: 'Student', cash: '100000', holdings: '' });
  const leaders = useMemo(() => rosterLeaderRows(data.roster), [data.roster]);
  const traderCount = users.filter((u) => u.role === 'trader').length;
  const minutes = parseSessionMinutes(sessionMinutes);

  return (
    <main className="dash" data-testid="dashboard">
      <ControlBar commands={commands} market={market} sessionMinutes={sessionMinutes} onSessionMinutes={setSessionMinutes} />
      <div className="dash-grid">
        <div className="dash-col dash-main">
          <div className="area-roster">
            <RosterPanel users={users} roster={data.roster} error={data.rosterError} selected={data.detail?.userId ?? null} onSelect={openDetail} />
          </div>
          <div className="area-detail">
            <TraderDetail detail={data.detail} roster={data.roster} users={users} onClose={() => openDetail(null)} />
          </div>
        </div>
        <div className="dash-col dash-side">
          <div className="area-leaders">
            <LeaderboardPanel rows={data.rosterError ? null : leaders} showBots={showBots} onShowBots={setShowBots} error={data.rosterError} />
          </div>
          <div className="area-bots">
            <BotsPanel commands={commands} bots={data.bots} error={data.botsError} />
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
              {tab === 'traders' && <TradersForm commands={commands} defaults={defaults} onDefaults={setDefaults} />}
              {tab === 'stocks' && <StocksForm commands={commands} stocks={stocks} />}
              {tab === 'settings' && <SettingsForm commands={commands} settings={settings} />}
              {tab === 'scenarios' && (
                <ScenariosForm
                  commands={commands}
                  scenarios={data.scenarios}
                  error={data.scenariosError}
                  current={{
                    stocks,
                    traderCount,
                    defaults,
                    settings,
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

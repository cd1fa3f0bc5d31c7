import { useCallback, useEffect, useState } from 'react';
import { Banners } from './components/Banners';
import { Dashboard } from './components/dashboard/Dashboard';
import { TraderLeaderboard } from './components/TraderLeaderboard';
import { Header, type Theme } from './components/Header';
import { MarketWatch } from './components/MarketWatch';
import { OrderBook } from './components/OrderBook';
import { OrdersPanel } from './components/OrdersPanel';
import { OrderTicket, type Prefill } from './components/OrderTicket';
import { PortfolioPanel } from './components/PortfolioPanel';
import { PriceChart } from './components/PriceChart';
import { TradeTape } from './components/TradeTape';
import type { Side } from './types';
import { useDashboard } from './useDashboard';
import { useExchange } from './useExchange';

const THEME_KEY = 'papertrade.theme';

function initialTheme(): Theme {
  try {
    return window.localStorage.getItem(THEME_KEY) === 'light' ? 'light' : 'dark';
  } catch {
    return 'dark';
  }
}

export function App() {
  const ex = useExchange();
  const { state } = ex;
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const [prefill, setPrefill] = useState<Prefill | null>(null);
  const [boardOpen, setBoardOpen] = useState(false);
  const dash = useDashboard(ex, ex.isInstructor);

  useEffect(() => {
    try {
      window.localStorage.setItem(THEME_KEY, theme);
    } catch {
      // not remembered
    }
  }, [theme]);

  // the page's colors switch before the chart (a child) reads them in its effects
  if (document.documentElement.dataset.theme !== theme) document.documentElement.dataset.theme = theme;
  const toggleTheme = useCallback(() => setTheme((t) => (t === 'dark' ? 'light' : 'dark')), []);

  const pick = useCallback((price: string, side: Side) => setPrefill((p) => ({ price, side, n: (p?.n ?? 0) + 1 })), []);

  const market = state.market?.status ?? null;
  const loggedIn = state.userId !== null;
  const stock = state.stocks.find((s) => s.symbol === state.selected);

  return (
    <div className="app">
      <Header
        users={state.users}
        accountId={ex.accountId}
        userId={state.userId}
        onSwitch={ex.switchAccount}
        market={market}
        closesAt={state.market?.closes_at ?? null}
        theme={theme}
        onToggleTheme={toggleTheme}
        loginError={ex.loginError}
        needPassword={ex.needPassword}
      >
        {loggedIn && !ex.isInstructor && (
          <button
            type="button"
            className={`small-button ${boardOpen ? 'active' : ''}`}
            data-testid="leaderboard-toggle"
            aria-expanded={boardOpen}
            onClick={() => setBoardOpen((o) => !o)}
          >
            Leaderboard
          </button>
        )}
      </Header>
      <Banners market={market} connection={state.connection} />
      {loggedIn && !ex.isInstructor && boardOpen && <TraderLeaderboard ex={ex} me={state.userId} />}
      {ex.isInstructor ? (
        <Dashboard ex={ex} data={dash} users={state.users} stocks={state.stocks} market={state.market} />
      ) : (
      <main className="layout">
        <div className="col col-left">
          <div className="area-watch">
            <MarketWatch stocks={state.stocks} flash={state.flash} selected={state.selected} onSelect={ex.select} />
          </div>
          <div className="area-portfolio">
            <PortfolioPanel portfolio={state.portfolio} loggedIn={loggedIn} selected={state.selected} onSelect={ex.select} />
          </div>
        </div>
        <div className="col col-center">
          <div className="area-chart">
            <PriceChart stock={stock} candles={state.candles} version={state.candlesVersion} theme={theme} />
          </div>
          <div className="area-orders">
            <OrdersPanel
              orders={state.orders}
              loggedIn={loggedIn}
              cancelOrder={ex.cancelOrder}
              orderDetail={ex.orderDetail}
              onSelect={ex.select}
            />
          </div>
        </div>
        <div className="col col-right">
          <div className="area-ticket">
            <OrderTicket
              stocks={state.stocks}
              selected={state.selected}
              onSelect={ex.select}
              portfolio={state.portfolio}
              market={market}
              loggedIn={loggedIn}
              orders={state.orders}
              prefill={prefill}
              placeOrder={ex.placeOrder}
              settings={state.settings}
            />
          </div>
          <div className="area-book">
            <OrderBook book={state.book} symbol={state.selected} onPick={pick} />
          </div>
          <div className="area-tape">
            <TradeTape trades={state.tape} symbol={state.selected} />
          </div>
        </div>
      </main>
      )}
    </div>
  );
}

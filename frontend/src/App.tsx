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
import { storedTheme, storeTheme } from './storage';
import type { Side } from './types';
import { useExchange } from './useExchange';

export function App() {
  const ex = useExchange();
  const { state } = ex;
  const [theme, setTheme] = useState<Theme>(storedTheme);
  const [prefill, setPrefill] = useState<Prefill | null>(null);
  const [boardOpen, setBoardOpen] = useState(false);

  useEffect(() => storeTheme(theme), [theme]);

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
      {loggedIn && !ex.isInstructor && boardOpen && (
        <TraderLeaderboard rows={state.leaderboard} error={state.leaderboardError} me={state.userId} watch={ex.watchLeaderboard} />
      )}
      {ex.isInstructor ? (
        <Dashboard
          commands={ex.dashboard}
          data={state.dash}
          settings={state.settings}
          users={state.users}
          stocks={state.stocks}
          market={state.market}
          openDetail={ex.openDetail}
        />
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
            <PriceChart
              stock={stock}
              candles={state.candles}
              version={state.candlesVersion}
              theme={theme}
              orders={Object.values(state.orders)}
            />
          </div>
          <div className="area-orders">
            <OrdersPanel
              orders={state.orders}
              loggedIn={loggedIn}
              cancelOrder={ex.trading.cancelOrder}
              replaceOrder={ex.trading.replaceOrder}
              orderDetail={ex.trading.orderDetail}
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
              placeOrder={ex.trading.placeOrder}
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

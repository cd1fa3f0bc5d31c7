import { formatCents, toCents } from '../money';
import type { Book, BookLevel, Side } from '../types';
import { Panel } from './Panel';

interface Props {
  book: Book | null;
  symbol: string;
  onPick(price: string, side: Side): void;
}

function Level({ level, max, kind, onPick }: { level: BookLevel; max: number; kind: 'ask' | 'bid'; onPick(): void }) {
  const width = max > 0 ? Math.max(2, Math.round((level.qty / max) * 100)) : 0;
  return (
    <div
      className={`level ${kind}`}
      data-testid="book-level"
      onClick={onPick}
      title={kind === 'ask' ? 'Buy at this price' : 'Sell at this price'}
    >
      <span className="depth" style={{ width: `${width}%` }} />
      <span className="num price">{level.price}</span>
      <span className="num">{level.qty.toLocaleString('en-US')}</span>
      <span className="num muted">{level.orders}</span>
    </div>
  );
}

export function OrderBook({ book, symbol, onPick }: Props) {
  const asks = book?.asks ?? [];
  const bids = book?.bids ?? [];
  const max = Math.max(0, ...asks.map((l) => l.qty), ...bids.map((l) => l.qty));
  const bestAsk = toCents(asks[0]?.price);
  const bestBid = toCents(bids[0]?.price);
  const spread = bestAsk !== null && bestBid !== null ? formatCents(bestAsk - bestBid) : null;
  return (
    <Panel
      className="book"
      label="Order book"
      testid="book"
      title="Order book"
      head={
        <span className="muted small">
          {symbol} · seq <span data-testid="book-seq">{book ? book.seq : ''}</span>
        </span>
      }
    >
      <div className="book-cols muted tiny">
        <span>Price</span>
        <span className="num">Qty</span>
        <span className="num">Orders</span>
      </div>
      <div className="book-body">
        <div className="ladder asks" data-testid="book-asks">
          {asks.map((l) => (
            <Level key={l.price} level={l} max={max} kind="ask" onPick={() => onPick(l.price, 'buy')} />
          ))}
          {book && asks.length === 0 && <div className="empty tiny">no asks</div>}
        </div>
        <div className="spread tiny">
          {spread !== null ? (
            <>
              spread <b>{spread}</b>
            </>
          ) : (
            <span className="muted">{book ? 'no spread' : 'loading…'}</span>
          )}
        </div>
        <div className="ladder bids" data-testid="book-bids">
          {bids.map((l) => (
            <Level key={l.price} level={l} max={max} kind="bid" onPick={() => onPick(l.price, 'sell')} />
          ))}
          {book && bids.length === 0 && <div className="empty tiny">no bids</div>}
        </div>
      </div>
    </Panel>
  );
}

"""The rows `bench.grow` writes, as SQL: a semester's history computed identically in
each database's session (temporary tables), then each service's tables and inbox
filled from it, the same rows its event handlers would have written."""

from __future__ import annotations

GRANT = 1000  # shares of its symbol each trader is granted
CASH = "100000.00"
BLOCK = 10  # orders per block: 4 pairs that trade, 1 canceled, 1 expired or rejected
WATCHLIST = 8  # symbols a trader trades in (keeps positions, loaded by the portfolio worker, realistic)

# -- the history, computed identically in each database's session -------------------
# %(name)s parameters: acc, sym, blocks, uid0, oid0, tid0, prio0, t0, dt (seconds per order)

SYMBOLS_SQL = """
CREATE TEMP TABLE g_symbols AS
SELECT s, 'G' || lpad((s + 1)::text, 5, '0') AS symbol, 'Grown ' || lpad((s + 1)::text, 5, '0') AS name,
       (10 + (s * 37) %% 490)::numeric(20, 2) AS ref
FROM generate_series(0, %(sym)s - 1) s
"""

USERS_SQL = """
CREATE TEMP TABLE g_users AS
SELECT i, %(uid0)s + i + 1 AS user_id, 'Grown ' || (%(uid0)s + i + 1) AS name,
       'G' || lpad((i %% %(sym)s + 1)::text, 5, '0') AS symbol
FROM generate_series(0, %(acc)s - 1) i
"""

# One row per trade. Pair pi of block b: round trip t = 2b + j/2; leg 0 a buys from b,
# leg 1 a sells back to b; b holds the symbol's grant (users i with i mod S = s).
PAIRS_SQL = f"""
CREATE TEMP TABLE g_pairs AS
WITH base AS (
    SELECT pi, pi / 4 AS b, pi %% 4 AS j, 2 * (pi / 4) + (pi %% 4) / 2 AS t, (pi %% 4) %% 2 AS leg
    FROM generate_series(0, 4 * %(blocks)s - 1) pi
), who AS (
    SELECT *, t %% %(acc)s AS a, t / %(acc)s AS w FROM base
), sym AS (
    SELECT *, (a * 7 + w %% {WATCHLIST}) %% %(sym)s AS s FROM who
), parties AS (
    SELECT *, CASE WHEN s + %(sym)s * (w %% (%(acc)s / %(sym)s)) = a
                   THEN s + %(sym)s * ((w + 1) %% (%(acc)s / %(sym)s))
                   ELSE s + %(sym)s * (w %% (%(acc)s / %(sym)s)) END AS holder
    FROM sym
), priced AS (
    SELECT p.pi, p.b, p.j, p.s, g.symbol,
           %(uid0)s + 1 + CASE WHEN p.leg = 0 THEN p.a ELSE p.holder END AS buyer,
           %(uid0)s + 1 + CASE WHEN p.leg = 0 THEN p.holder ELSE p.a END AS seller,
           %(oid0)s + {BLOCK} * p.b + 2 * p.j + 1 AS buy_oid,
           %(tid0)s + p.pi + 1 AS trade_id,
           round(g.ref * (990 + p.t %% 21) / 1000, 2)::numeric(20, 2) AS price,
           1 + p.t %% 50 AS qty,
           %(t0)s + make_interval(secs => ({BLOCK} * p.b + 2 * p.j) * %(dt)s) AS buy_at
    FROM parties p JOIN g_symbols g ON g.s = p.s
)
SELECT *, buy_oid + 1 AS sell_oid,
       %(prio0)s + buy_oid - %(oid0)s AS buy_prio,
       buy_at + make_interval(secs => %(dt)s) AS sell_at,
       buy_at + make_interval(secs => %(dt)s) + interval '5 ms' AS exec_at,
       2 * row_number() OVER (PARTITION BY s ORDER BY pi) AS seq
FROM priced
"""

# One row per order that did not trade: position 8 of a block canceled by its owner,
# 9 expired (even blocks) or rejected for cash (odd blocks).
SINGLES_SQL = f"""
CREATE TEMP TABLE g_singles AS
WITH base AS (
    SELECT b, pos, CASE WHEN pos = 8 THEN 'canceled' WHEN b %% 2 = 0 THEN 'expired' ELSE 'rejected' END AS kind,
           (b * 7 + 3 + pos) %% %(acc)s AS c
    FROM generate_series(0, %(blocks)s - 1) b, (VALUES (8), (9)) v(pos)
), placed AS (
    SELECT x.b, x.pos, x.kind, g.symbol, %(uid0)s + 1 + x.c AS user_id,
           %(oid0)s + {BLOCK} * x.b + x.pos + 1 AS oid,
           round(g.ref * 0.8, 2)::numeric(20, 2) AS price,
           CASE WHEN x.kind = 'rejected' THEN 100000 ELSE 10 END AS qty,
           %(t0)s + make_interval(secs => ({BLOCK} * x.b + x.pos) * %(dt)s) AS placed_at
    FROM base x JOIN g_symbols g ON g.s = (x.c * 7 + x.b %% {WATCHLIST}) %% %(sym)s
)
SELECT *, %(prio0)s + oid - %(oid0)s AS prio,
       placed_at + interval '3 ms' AS booked_at,
       placed_at + make_interval(secs => %(dt)s / 2) AS final_at
FROM placed
"""

REJECT_DETAIL = f"'insufficient_cash: needs ' || (price * qty)::numeric(20, 2) || ', buying power {CASH}'"

# -- each service's tables, as its handlers write them --------------------------------

USER_ACCOUNTS = [
    ("users", f"""
INSERT INTO users (id, name, role, password_hash, starting_cash, holdings, created_at, updated_at)
SELECT user_id, name, 'trader', NULL, {CASH}, jsonb_build_object(symbol, {GRANT}), %(t_users)s, %(t_users)s
FROM g_users ORDER BY user_id
"""),
]

USER_PORTFOLIO = [
    ("symbols", """
INSERT INTO symbols (symbol, name, reference_price, last_price, last_trade_seq)
SELECT g.symbol, g.name, g.ref, l.price, coalesce(l.seq, 0)
FROM g_symbols g LEFT JOIN (SELECT DISTINCT ON (s) s, price, seq FROM g_pairs ORDER BY s, seq DESC) l ON l.s = g.s
"""),
    ("accounts", f"""
INSERT INTO accounts (user_id, name, role, starting_cash, cash, reserved_cash, realized_pl, created_at, updated_at,
                      fills)
SELECT u.user_id, u.name, 'trader', {CASH}, {CASH}, 0, 0, %(t_users)s, coalesce(f.last, %(t_users)s),
       coalesce(f.n, 0)
FROM g_users u LEFT JOIN (
    SELECT user_id, count(*) AS n, max(exec_at) AS last FROM (
        SELECT buyer AS user_id, exec_at FROM g_pairs UNION ALL SELECT seller, exec_at FROM g_pairs) x
    GROUP BY user_id) f ON f.user_id = u.user_id
ORDER BY u.user_id
"""),
    # the grants, then the flat positions of what traders bought and sold back (avg
    # cost: the last buy's price, as settle_buy leaves it on a position bought from 0)
    ("positions", f"""
INSERT INTO positions (user_id, symbol, qty, reserved_qty, granted_qty, avg_cost, realized_pl, updated_at,
                       open_buy_qty)
SELECT u.user_id, u.symbol, {GRANT}, 0, {GRANT}, g.ref, 0, %(t_users)s, 0
FROM g_users u JOIN g_symbols g ON g.symbol = u.symbol
UNION ALL
SELECT * FROM (
    SELECT DISTINCT ON (p.buyer, p.symbol) p.buyer, p.symbol, 0, 0, 0, p.price, 0, p.exec_at, 0
    FROM g_pairs p JOIN g_users u ON u.user_id = p.buyer
    WHERE p.j %% 2 = 0 AND u.symbol <> p.symbol
    ORDER BY p.buyer, p.symbol, p.exec_at DESC) flat
"""),
    ("reservations", """
INSERT INTO reservations (order_id, user_id, symbol, side, type, qty, filled_qty, reserve_price, status,
                          created_at, closed_at, commission)
SELECT * FROM (
    SELECT buy_oid, buyer, symbol, 'buy', 'limit', qty, qty, price, 'closed', buy_at + interval '1 ms',
           exec_at + interval '1 ms', 0::numeric FROM g_pairs
    UNION ALL
    SELECT sell_oid, seller, symbol, 'sell', 'limit', qty, qty, NULL, 'closed', sell_at + interval '1 ms',
           exec_at + interval '1 ms', 0 FROM g_pairs
    UNION ALL
    SELECT oid, user_id, symbol, 'buy', 'limit', qty, 0, CASE WHEN kind = 'rejected' THEN NULL ELSE price END,
           CASE WHEN kind = 'rejected' THEN 'rejected' ELSE 'closed' END, placed_at + interval '1 ms',
           CASE WHEN kind = 'rejected' THEN placed_at + interval '1 ms' ELSE final_at + interval '1 ms' END, 0
    FROM g_singles) r
ORDER BY 1
"""),
    # opening rows per account (grant_cash of 0: the audit counts cash from starting_cash),
    # then both legs of every trade in trade order
    ("ledger", f"""
INSERT INTO ledger (user_id, kind, symbol, qty, amount, order_id, trade_id, created_at)
SELECT user_id, kind, symbol, qty, amount, order_id, trade_id, at FROM (
    SELECT u.user_id, 'grant_cash' AS kind, NULL AS symbol, 0 AS qty, 0::numeric AS amount, NULL::bigint AS order_id,
           NULL::bigint AS trade_id, %(t_users)s AS at, 0 AS k1, u.user_id::bigint AS k2, 0 AS k3 FROM g_users u
    UNION ALL
    SELECT u.user_id, 'grant_shares', u.symbol, {GRANT}, 0, NULL, NULL, %(t_users)s, 0, u.user_id, 1 FROM g_users u
    UNION ALL
    SELECT buyer, 'buy', symbol, qty, -(price * qty), buy_oid, trade_id, exec_at + interval '1 ms', 1, trade_id, 0
    FROM g_pairs
    UNION ALL
    SELECT seller, 'sell', symbol, -qty, price * qty, sell_oid, trade_id, exec_at + interval '1 ms', 1, trade_id, 1
    FROM g_pairs) l
ORDER BY k1, k2, k3
"""),
    ("trades", """
INSERT INTO trades (trade_id, seq, symbol, price, qty, buyer_id, seller_id, buy_order_id, sell_order_id,
                    executed_at, buy_commission, sell_commission)
SELECT trade_id, seq, symbol, price, qty, buyer, seller, buy_oid, sell_oid, exec_at, 0, 0 FROM g_pairs ORDER BY trade_id
"""),
]

STOCK_DATA = [
    # the day statistics over the whole history: one session, still open
    ("stocks", """
INSERT INTO stocks (symbol, name, reference_price, last_price, day_open, day_high, day_low, volume, last_trade_seq,
                    first_trade_seq, listed_at, updated_at, listed)
SELECT g.symbol, g.name, g.ref, d.last, d.first, d.high, d.low, coalesce(d.volume, 0), coalesce(d.last_seq, 0),
       d.first_seq, %(t_symbols)s, coalesce(d.at, %(t_symbols)s), true
FROM g_symbols g LEFT JOIN (
    SELECT s, (array_agg(price ORDER BY seq DESC))[1] AS last, (array_agg(price ORDER BY seq))[1] AS first,
           max(price) AS high, min(price) AS low, sum(qty) AS volume, max(seq) AS last_seq, min(seq) AS first_seq,
           max(exec_at) AS at
    FROM g_pairs GROUP BY s) d ON d.s = g.s
"""),
    ("trades", """
INSERT INTO trades (trade_id, symbol, seq, price, qty, executed_at)
SELECT trade_id, symbol, seq, price, qty, exec_at FROM g_pairs ORDER BY trade_id
"""),
    ("candles", """
INSERT INTO candles (symbol, start, open, high, low, close, volume, open_seq, close_seq)
SELECT symbol, date_trunc('minute', exec_at), (array_agg(price ORDER BY seq))[1], max(price), min(price),
       (array_agg(price ORDER BY seq DESC))[1], sum(qty), min(seq), max(seq)
FROM g_pairs GROUP BY symbol, date_trunc('minute', exec_at)
ORDER BY 2, 1
"""),
]

STOCK_ORDERING = [
    ("known_users", "INSERT INTO known_users (user_id, name, role) SELECT user_id, name, 'trader' FROM g_users"),
    ("known_symbols", "INSERT INTO known_symbols (symbol, name) SELECT symbol, name FROM g_symbols"),
    ("orders", """
INSERT INTO orders (id, client_order_id, fingerprint, user_id, symbol, side, type, qty, limit_price, time_in_force,
                    status, filled_qty, filled_notional, booked, cancel_requested, final_status, reject_reason,
                    created_at, updated_at)
SELECT id, NULL, symbol || '|' || side || '|limit|' || qty || '|' || price || '|day', user_id, symbol, side,
       'limit', qty, price, 'day', final, filled, notional, booked, cancel, final, reason, at, done
FROM (
    SELECT buy_oid AS id, symbol, 'buy' AS side, qty, price, buyer AS user_id, 'filled' AS final, qty AS filled,
           price * qty AS notional, true AS booked, false AS cancel, NULL AS reason, buy_at AS at,
           exec_at + interval '2 ms' AS done FROM g_pairs
    UNION ALL
    SELECT sell_oid, symbol, 'sell', qty, price, seller, 'filled', qty, price * qty, true, false, NULL, sell_at,
           exec_at + interval '2 ms' FROM g_pairs
    UNION ALL
    SELECT oid, symbol, 'buy', qty, price, user_id, kind, 0, 0, kind <> 'rejected', kind = 'canceled',
           CASE WHEN kind = 'rejected' THEN 'insufficient_cash' END, placed_at,
           CASE WHEN kind = 'rejected' THEN placed_at + interval '4 ms' ELSE final_at + interval '2 ms' END
    FROM g_singles) o
ORDER BY id
"""),
    # every status an order went through, in the order they happened (ids keep it)
    ("order_history", f"""
INSERT INTO order_history (order_id, status, filled_qty, detail, at)
SELECT order_id, status, filled, detail, at FROM (
    SELECT buy_oid AS order_id, 'pending_new' AS status, 0 AS filled, NULL AS detail, buy_at AS at FROM g_pairs
    UNION ALL SELECT buy_oid, 'new', 0, NULL, buy_at + interval '3 ms' FROM g_pairs
    UNION ALL SELECT sell_oid, 'pending_new', 0, NULL, sell_at FROM g_pairs
    UNION ALL SELECT o.oid, 'filled', qty, 'trade ' || trade_id || ': ' || qty || ' @ ' || price,
                     exec_at + interval '2 ms'
              FROM g_pairs, LATERAL (VALUES (buy_oid), (sell_oid)) o(oid)
    UNION ALL SELECT oid, 'pending_new', 0, NULL, placed_at FROM g_singles
    UNION ALL SELECT oid, 'new', 0, NULL, booked_at FROM g_singles WHERE kind <> 'rejected'
    UNION ALL SELECT oid, 'pending_cancel', 0, 'cancel requested', final_at FROM g_singles WHERE kind = 'canceled'
    UNION ALL SELECT oid, 'canceled', 0, 'canceled by user', final_at + interval '2 ms' FROM g_singles
              WHERE kind = 'canceled'
    UNION ALL SELECT oid, 'expired', 0, 'market closed', final_at + interval '2 ms' FROM g_singles
              WHERE kind = 'expired'
    UNION ALL SELECT oid, 'rejected', 0, {REJECT_DETAIL}, placed_at + interval '4 ms' FROM g_singles
              WHERE kind = 'rejected') h
ORDER BY at, order_id
"""),
]

ORDER_MATCHING = [
    # the sequence counts every book event (a booking, a fill, a cancel or expiry)
    ("symbols", """
INSERT INTO symbols (symbol, reference_price, seq, listed)
SELECT g.symbol, g.ref, coalesce(p.seq, 0) + 2 * coalesce(x.n, 0), true
FROM g_symbols g
LEFT JOIN (SELECT s, max(seq) AS seq FROM g_pairs GROUP BY s) p ON p.s = g.s
LEFT JOIN (SELECT symbol, count(*) AS n FROM g_singles WHERE kind <> 'rejected' GROUP BY symbol) x
       ON x.symbol = g.symbol
WHERE g.symbol = ANY(%(owned)s)
"""),
    ("book_orders", """
INSERT INTO book_orders (order_id, user_id, symbol, side, type, qty, filled_qty, filled_notional, limit_price,
                         collar_price, time_in_force, priority, status, outcome, created_at, updated_at)
SELECT * FROM (
    SELECT buy_oid, buyer, symbol, 'buy', 'limit', qty, qty, price * qty, price, NULL::numeric, 'day', buy_prio,
           'done', 'filled', buy_at + interval '2 ms', exec_at FROM g_pairs WHERE symbol = ANY(%(owned)s)
    UNION ALL
    SELECT sell_oid, seller, symbol, 'sell', 'limit', qty, qty, price * qty, price, NULL, 'day', buy_prio + 1,
           'done', 'filled', exec_at, exec_at FROM g_pairs WHERE symbol = ANY(%(owned)s)
    UNION ALL
    SELECT oid, user_id, symbol, 'buy', 'limit', qty, 0, 0, price, NULL, 'day', prio, 'done', kind,
           booked_at - interval '1 ms', final_at + interval '1 ms'
    FROM g_singles WHERE kind <> 'rejected' AND symbol = ANY(%(owned)s)) b
ORDER BY 1
"""),
    ("executions", """
INSERT INTO executions (trade_id, symbol, seq, price, qty, buy_order_id, sell_order_id, buyer_id, seller_id,
                        taker_side, executed_at)
SELECT trade_id, symbol, seq, price, qty, buy_oid, sell_oid, buyer, seller, 'sell', exec_at
FROM g_pairs WHERE symbol = ANY(%(owned)s) ORDER BY trade_id
"""),
]

# Each service's inbox: one row per event its handlers consumed, at the time it did.
INBOX_EVENTS = {
    "user_accounts": [],
    "user_portfolio": [
        "SELECT 'user.created' AS type, %(t_users)s AS at FROM g_users",
        "SELECT 'stock.listed', %(t_symbols)s FROM g_symbols",
        "SELECT 'order.placed', buy_at + interval '1 ms' FROM g_pairs",
        "SELECT 'order.placed', sell_at + interval '1 ms' FROM g_pairs",
        "SELECT 'trade.executed', exec_at + interval '1 ms' FROM g_pairs",
        "SELECT 'order.placed', placed_at + interval '1 ms' FROM g_singles",
        "SELECT 'order.' || kind, CASE WHEN kind = 'rejected' THEN placed_at + interval '3 ms'"
        " ELSE final_at + interval '2 ms' END FROM g_singles",
    ],
    "stock_data": [
        "SELECT 'stock.listed' AS type, %(t_symbols)s AS at FROM g_symbols",
        "SELECT 'trade.executed', exec_at + interval '7 ms' FROM g_pairs",
    ],
    "stock_ordering": [
        "SELECT 'user.created' AS type, %(t_users)s AS at FROM g_users",
        "SELECT 'stock.listed', %(t_symbols)s FROM g_symbols",
        "SELECT 'order.booked', buy_at + interval '3 ms' FROM g_pairs",
        "SELECT 'trade.executed', exec_at + interval '2 ms' FROM g_pairs",
        "SELECT 'order.booked', booked_at FROM g_singles WHERE kind <> 'rejected'",
        "SELECT 'order.' || kind, CASE WHEN kind = 'rejected' THEN placed_at + interval '4 ms'"
        " ELSE final_at + interval '2 ms' END FROM g_singles",
    ],
    "order_matching": [
        "SELECT 'stock.listed' AS type, %(t_symbols)s AS at FROM g_symbols WHERE symbol = ANY(%(owned)s)",
        "SELECT 'order.approved', buy_at + interval '2 ms' FROM g_pairs WHERE symbol = ANY(%(owned)s)",
        "SELECT 'order.approved', exec_at - interval '1 ms' FROM g_pairs WHERE symbol = ANY(%(owned)s)",
        "SELECT 'order.approved', booked_at - interval '1 ms' FROM g_singles"
        " WHERE kind <> 'rejected' AND symbol = ANY(%(owned)s)",
        "SELECT 'order.cancel_requested', final_at - interval '1 ms' FROM g_singles"
        " WHERE kind = 'canceled' AND symbol = ANY(%(owned)s)",
    ],
}

TABLES = {"user_accounts": USER_ACCOUNTS, "user_portfolio": USER_PORTFOLIO, "stock_data": STOCK_DATA,
          "stock_ordering": STOCK_ORDERING, "order_matching": ORDER_MATCHING}

# serial columns to move past what was inserted: (sequence, table, column)
SEQUENCES = {
    "user_accounts": [("users_id_seq", "users", "id")],
    "user_portfolio": [("ledger_id_seq", "ledger", "id")],
    "stock_ordering": [("orders_id_seq", "orders", "id"), ("order_history_id_seq", "order_history", "id")],
    "order_matching": [("trade_ids", "executions", "trade_id")],
}

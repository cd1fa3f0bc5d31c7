"""Live pushes over Socket.IO: `order`, `portfolio`, `price`, `trade`, `book`, `market`.

    with client.stream(symbols=["AAPL"]) as s:       # or Stream(url, token, symbols=[...])
        s.on("trade", lambda ev: print(ev.data))     # callbacks run on the socket's thread
        for ev in s.events(timeout=30):              # or iterate: StreamEvent(name, data, raw)
            print(ev.name, ev.data)
        s.wait_for("order", lambda ev: ev.data.status == "filled")   # or wait for one

`order` and `portfolio` reach only their owner (and instructors), so they need a
token; the symbol events need `subscribe(symbols)`, which is repeated after every
reconnect. Losing a push is possible by design (the gateway's feed is not
durable): after a reconnect, refetch state over REST.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import socketio

from .closing import Closing
from .types import Book, Market, Order, Portfolio, Price, Trade, parse

EVENTS = ("order", "portfolio", "price", "trade", "book", "market")
RECORDS: dict[str, type] = {"order": Order, "portfolio": Portfolio, "price": Price, "trade": Trade,
                            "book": Book, "market": Market}


@dataclass(frozen=True)
class StreamEvent:
    name: str
    data: Any  # the typed record (Order, Portfolio, Price, Trade, Book, Market)
    raw: dict[str, Any]
    received_at: float  # time.time() when it arrived


class Stream(Closing):
    def __init__(self, base_url: str, token: str | None = None, symbols: Sequence[str] = (),
                 events: Sequence[str] = EVENTS, transports: Sequence[str] | None = None,
                 connect_timeout: float = 10.0, keep: int = 10_000) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.symbols: list[str] = list(symbols)
        self._queue: queue.Queue[StreamEvent] = queue.Queue()
        self._callbacks: dict[str, list[Callable[[StreamEvent], None]]] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        # every push since connecting (the latest `keep`), for wait_for()
        self.history: deque[StreamEvent] = deque(maxlen=keep)
        self.connects = 0
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=5)
        for name in events:
            self.sio.on(name, self._receiver(name))
        self.sio.on("connect", self._on_connect)
        self.sio.connect(self.base_url, auth={"token": token} if token else None,
                         transports=list(transports) if transports else None, wait_timeout=connect_timeout)

    # ------------------------------------------------------------------ wiring
    def _on_connect(self) -> None:
        self.connects += 1
        if self.connects > 1 and self.symbols:  # rooms are per connection: join them again
            self.sio.emit("subscribe", {"symbols": self.symbols})

    def _receiver(self, name: str) -> Callable[[Any], None]:
        record = RECORDS.get(name)

        def receive(data: Any) -> None:
            typed = parse(record, data) if record is not None and isinstance(data, dict) else data
            event = StreamEvent(name, typed, data, time.time())
            self._queue.put(event)
            with self._lock:
                self.history.append(event)
                self._arrived.notify_all()
                callbacks = list(self._callbacks.get(name, ())) + list(self._callbacks.get("*", ()))
            for callback in callbacks:
                callback(event)

        return receive

    # ------------------------------------------------------------------ API
    def subscribe(self, symbols: Sequence[str], timeout: float = 10.0) -> list[str]:
        """Join the symbols' public rooms; returns the symbols the gateway accepted."""
        self.symbols = sorted(set(self.symbols) | set(symbols))
        answer = self.sio.call("subscribe", {"symbols": list(symbols)}, timeout=timeout)
        return list(answer.get("subscribed", [])) if isinstance(answer, dict) else []

    def on(self, name: str, callback: Callable[[StreamEvent], None]) -> None:
        """Call `callback(StreamEvent)` for each `name` push ("*" for every push)."""
        with self._lock:
            self._callbacks.setdefault(name, []).append(callback)

    def events(self, timeout: float | None = None) -> Iterator[StreamEvent]:
        """Yield pushes as they arrive; stops after `timeout` seconds without one (None: never)."""
        while True:
            try:
                yield self._queue.get(timeout=timeout)
            except queue.Empty:
                return

    def get(self, timeout: float | None = None) -> StreamEvent | None:
        """The next push not yet taken by get() or events(), or None after `timeout` seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def wait_for(self, name: str | None = None, predicate: Callable[[StreamEvent], bool] | None = None,
                 timeout: float = 15.0) -> StreamEvent:
        """The first push since connecting (of `name`, matching `predicate`), waiting up to
        `timeout` seconds for it; TimeoutError otherwise. Independent of events()."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for event in self.history:  # at most `keep` pushes: a rescan is cheap
                    if (name is None or event.name == name) and (predicate is None or predicate(event)):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {name or 'push'} matching within {timeout} s")
                self._arrived.wait(left)

    def close(self) -> None:
        self.sio.disconnect()

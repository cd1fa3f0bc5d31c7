"""Dead letters: see and replay what a service's worker set aside.

    python -m stack dead-letters list   [--service S]
    python -m stack dead-letters replay [--service S] [--id EVENT_ID] [--force]

A worker dead-letters a message it cannot parse, or whose handler failed three
times in a row (service_runtime/consumer.py); a quorum queue also dead-letters a
message redelivered 20 times (a crash loop). They wait in `<ns>.<service>.dead`.

`list` prints one line per message (event id, type, why, how often replayed) and
leaves the queue as it was: each message is taken, published again to the tail of
the same dead-letter queue and only then acked, so the order is kept and nothing
is lost if the command dies half way (a message may then be listed twice, never
dropped). `replay` publishes each message (or the one with `--id`) to the
service's own queue with publisher confirms, then acks it in the dead-letter
queue; the consumer's inbox makes a replay of an event already applied harmless.
An event older than the inbox's retention is refused (its inbox row may be pruned,
so a duplicate could not be recognised); `--force` applies it anyway, for events the
operator knows were never applied.
A message that still fails comes back to the dead-letter queue, with its
`x-papertrade-replays` header one higher.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions

from service_runtime import catalog
from service_runtime.config import Settings
from service_runtime.consumer import FORCE_HEADER
from service_runtime.topology import blocking_connection

REPLAYS_HEADER = "x-papertrade-replays"


@dataclass
class DeadLetter:
    service: str
    event_id: str | None
    type: str | None
    reason: str
    replays: int
    body: bytes

    def line(self) -> str:
        what = f"{self.type} {self.event_id}" if self.event_id else f"unparseable {self.body[:60]!r}"
        return f"{self.service:>15}  {what}  ({self.reason}; replayed {self.replays}x)"


def consuming_services(service: str | None = None) -> list[str]:
    names = [s for s, consumed in catalog.consumed_by_services().items() if consumed]
    if service is not None:
        if service not in names:
            raise ValueError(f"{service!r} has no queue; one of {', '.join(names)}")
        return [service]
    return names


def _describe(service: str, body: bytes, props: pika.BasicProperties) -> DeadLetter:
    headers = props.headers or {}
    deaths = headers.get("x-death") or []
    # no x-death: published here by the worker itself, an event parked too long (service_runtime/parked.py)
    reason: Any = deaths[0].get("reason", "?") if deaths else "parked too long"
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    try:
        data = json.loads(body)
        event_id, kind = (str(data.get("id")), str(data.get("type"))) if isinstance(data, dict) else (None, None)
    except ValueError:
        event_id, kind = None, None
    return DeadLetter(service, event_id, kind, reason, int(headers.get(REPLAYS_HEADER, 0)), body)


def _drain(settings: Settings, service: str, replay: bool, event_id: str | None,
           force: bool = False) -> list[DeadLetter]:
    """Take every message present now; send each back to the dead-letter queue (list)
    or to the service's queue (replay), acking only after the broker confirmed."""
    seen: list[DeadLetter] = []
    dead = settings.dead_letter_queue(service)
    with blocking_connection(settings, "dead-letters") as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        count = ch.queue_declare(dead, passive=True).method.message_count
        for _ in range(count):
            method, props, body = ch.basic_get(dead, auto_ack=False)
            if method is None:
                break
            letter = _describe(service, body, props)
            seen.append(letter)
            headers = dict(props.headers or {})
            headers.pop(FORCE_HEADER, None)  # forcing is one replay's, never carried on
            if replay and (event_id is None or letter.event_id == event_id):
                headers[REPLAYS_HEADER] = letter.replays + 1
                if force:  # past the inbox's retention: the operator vouches it was never applied
                    headers[FORCE_HEADER] = True
                exchange, key = "", settings.queue(service)  # the default exchange: straight to the queue
            else:
                exchange, key = settings.dead_letter_exchange, service
            try:
                # mandatory: a queue that is not there (a sharded service's) must not swallow it
                ch.basic_publish(exchange, key, body, pika.BasicProperties(
                    delivery_mode=2, content_type=props.content_type, headers=headers, message_id=props.message_id),
                    mandatory=True)
            except pika.exceptions.UnroutableError:
                ch.basic_nack(method.delivery_tag, requeue=True)  # kept where it was
                raise SystemExit(f"{service}: no queue {key!r} to replay to; the dead letter is kept") from None
            ch.basic_ack(method.delivery_tag)
    return seen


def list_dead_letters(settings: Settings, service: str | None = None) -> list[DeadLetter]:
    return [d for s in consuming_services(service) for d in _drain(settings, s, False, None)]


def replay_dead_letters(settings: Settings, service: str | None = None, event_id: str | None = None,
                        force: bool = False) -> list[DeadLetter]:
    """Replay and return the messages replayed; `force` lets through an event older than
    the inbox's retention (the worker refuses it otherwise: it may be a duplicate), and
    only one named by its id, so that no duplicate is forced in with it."""
    if force and event_id is None:
        raise ValueError("--force replays one event: name it with --id")
    out = []
    for s in consuming_services(service):
        out += [d for d in _drain(settings, s, True, event_id, force) if event_id is None or d.event_id == event_id]
    return out


def main(settings: Settings, args: Any) -> None:
    if args.action == "list":
        letters = list_dead_letters(settings, args.service)
        for d in letters:
            print(d.line())
        print(f"{len(letters)} dead letter(s)")
    else:
        try:
            letters = replay_dead_letters(settings, args.service, args.id, getattr(args, "force", False))
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
        for d in letters:
            print("replayed " + d.line())
        print(f"{len(letters)} replayed")

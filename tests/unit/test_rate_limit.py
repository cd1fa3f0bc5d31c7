"""The token bucket behind order-entry rate limiting (pure logic, a fake clock)."""

from __future__ import annotations

import threading

import pytest

from service_runtime.rate_limit import TokenBucket, retry_after_seconds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_allows_the_burst_then_refuses_with_the_wait_until_the_next_token():
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=3, clock=clock)
    assert [bucket.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("a") == pytest.approx(0.1)
    clock.now += 0.05
    assert bucket.take("a") == pytest.approx(0.05)  # half a token refilled, the refusal took none
    clock.now += 0.05
    assert bucket.take("a") == 0.0
    assert bucket.take("a") == pytest.approx(0.1)


def test_tokens_are_independent_and_refill_caps_at_the_burst():
    clock = Clock()
    bucket = TokenBucket(rate=100, burst=2, clock=clock)
    assert bucket.take("a") == bucket.take("a") == 0.0
    assert bucket.take("a") > 0
    assert bucket.take("b") == 0.0  # another token has its own bucket
    clock.now += 60  # an hour of refill still only fills to the burst
    assert [bucket.take("a") for _ in range(3)][2] > 0


def test_sustained_rate_is_the_configured_one():
    clock = Clock()
    bucket = TokenBucket(rate=100, burst=1, clock=clock)
    allowed = 0
    for _ in range(1000):  # one attempt per millisecond for a second
        clock.now += 0.001
        allowed += bucket.take("t") == 0.0
    assert 99 <= allowed <= 101


def test_idle_buckets_are_swept():
    clock = Clock()
    bucket = TokenBucket(rate=1000, burst=10, clock=clock)
    for i in range(5000):
        bucket.take(f"token-{i}")
    clock.now += 1.0
    for _ in range(5000):  # past the sweep interval, every old bucket is full again: forgotten
        bucket.take("hot")
    assert len(bucket) == 1


def test_threads_share_one_bucket_without_losing_count():
    bucket = TokenBucket(rate=0.001, burst=500)  # effectively no refill during the test
    allowed = []

    def hammer() -> None:
        allowed.append(sum(bucket.take("shared") == 0.0 for _ in range(200)))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 500


def test_retry_after_is_whole_seconds_and_never_zero():
    assert retry_after_seconds(0.004) == 1
    assert retry_after_seconds(1.0) == 1
    assert retry_after_seconds(1.2) == 2
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1)

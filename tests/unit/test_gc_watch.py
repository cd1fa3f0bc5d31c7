"""Garbage-collection pauses are measured, and settling freezes what a process holds."""

from __future__ import annotations

import gc

from service_runtime import gc_watch


def test_collections_are_counted_and_settling_freezes_without_counting_itself():
    gc_watch.watch()
    gc_watch.watch()  # once per process, however often asked
    try:
        assert gc.callbacks.count(gc_watch._callback) == 1
        before = gc_watch.PAUSES.count()
        gc.collect()
        assert gc_watch.PAUSES.count() == before + 1
        gc_watch.settle()
        assert gc.get_freeze_count() > 0
        assert gc_watch.PAUSES.count() == before + 1  # its own collection is a start-up cost, not a pause
    finally:
        gc.unfreeze()
        gc.callbacks.remove(gc_watch._callback)

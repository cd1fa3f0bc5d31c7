"""The matching shard map: which order_matching shard owns a symbol.

Symbol-scoped events are routed with the symbol's partition (`contracts.partition_of`,
crc32 mod 16) in their routing key. With `PAPERTRADE_MATCHING_SHARDS=N`, shard k owns
the partitions p with p mod N == k, so a symbol's shard never depends on which
symbols exist, and every process computes the same map from N alone. N is a
setting every process reads (the topology, declared by every publisher, has one
queue per shard); it is fixed for a deployment's data (docs/operations.md).
"""

from __future__ import annotations

from .contracts import PARTITIONS, partition_of

MATCHING = "order_matching"


def check_shards(shards: int) -> int:
    if not 1 <= shards <= PARTITIONS:
        raise ValueError(f"PAPERTRADE_MATCHING_SHARDS must be between 1 and {PARTITIONS}, not {shards}")
    return shards


def shard_of_partition(partition: int, shards: int) -> int:
    return partition % check_shards(shards)


def shard_of(symbol: str, shards: int) -> int:
    """The shard that owns `symbol`'s book."""
    return shard_of_partition(partition_of(symbol), shards)


def partitions_of(shard: int, shards: int) -> list[int]:
    """The partitions shard `shard` of `shards` owns (disjoint, together all of them)."""
    check_shards(shards)
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} does not exist with {shards} shards")
    return [p for p in range(PARTITIONS) if p % shards == shard]


def trade_id(raw: int, shard: int, shards: int) -> int:
    """A globally unique trade id from a shard's own sequence value (1, 2, ...):
    shards interleave (shard k of N gets k+1, k+1+N, ...); with one shard it is `raw`."""
    return (raw - 1) * shards + shard + 1

"""What a Redis database holds, by key pattern, for the memory bench (``publish_throughput.py --memory --redis-keys``).

Each key's name is reduced to a pattern (a run of digits becomes ``#``, a 32-hex or UUID job id ``<id>``), and every
pattern gets its key count, the sum of ``MEMORY USAGE`` over its keys, how many keys have no TTL, and the longest
TTL left; beside it, the server's own figures from ``INFO memory`` (what the data holds, what the process holds,
and the ratio between them). ``KeyCensus.show`` prints the patterns that hold the most and each one's change since
the census before. Nothing here is part of the product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_ID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")
_DIGITS = re.compile(r"\d+")
MEMORY_FIELDS = ("used_memory", "used_memory_dataset", "used_memory_overhead", "used_memory_rss",
                 "used_memory_peak", "allocator_allocated", "allocator_active", "allocator_resident",
                 "mem_clients_normal", "used_memory_lua", "used_memory_scripts")


def pattern(key: str) -> str:
    return _DIGITS.sub("#", _ID.sub("<id>", key))


@dataclass
class Group:
    keys: int = 0
    bytes: int = 0
    no_ttl: int = 0
    max_ttl: int = -1  # seconds; -1: none of them has one


def census(conn: Any, batch: int = 500) -> dict[str, Group]:
    """Every key of ``conn``'s database grouped by ``pattern``."""
    groups: dict[str, Group] = {}
    names = [k.decode(errors="replace") if isinstance(k, bytes) else str(k) for k in conn.scan_iter(count=1000)]
    for start in range(0, len(names), batch):
        chunk = names[start : start + batch]
        with conn.pipeline(transaction=False) as pipe:
            for name in chunk:
                pipe.memory_usage(name, samples=0)
                pipe.ttl(name)
            replies = pipe.execute()
        for i, name in enumerate(chunk):
            size, ttl = replies[2 * i], replies[2 * i + 1]
            if size is None:  # gone between the scan and now
                continue
            g = groups.setdefault(pattern(name), Group())
            g.keys += 1
            g.bytes += int(size)
            if ttl == -1:
                g.no_ttl += 1
            else:
                g.max_ttl = max(g.max_ttl, int(ttl))
    return groups


class KeyCensus:
    """Successive censuses of one database, each shown against the one before."""

    def __init__(self, conn: Any, enabled: bool = True) -> None:
        self.conn, self.enabled = conn, enabled
        self.before: dict[str, Group] = {}
        self.info_before: dict[str, int] = {}

    def show(self, label: str, top: int = 25) -> None:
        if not self.enabled:
            return
        groups = census(self.conn)
        info: Any = self.conn.info("memory")
        now = {f: int(info.get(f, 0)) for f in MEMORY_FIELDS}
        mib = ", ".join(f"{f} {now[f] / 2**20:.2f}" + (f" ({(now[f] - self.info_before[f]) / 2**20:+.2f})"
                                                        if self.info_before else "") for f in MEMORY_FIELDS)
        print(f"  Redis {label}: INFO memory MiB: {mib}; mem_fragmentation_ratio {info.get('mem_fragmentation_ratio')}"
              f"; allocator {info.get('mem_allocator')}", flush=True)
        total = sum(g.bytes for g in groups.values())
        print(f"  Redis keys {label}: {sum(g.keys for g in groups.values())} keys, MEMORY USAGE sum "
              f"{total / 2**20:.3f} MiB; by pattern (keys, KiB, change since before; keys without TTL; longest TTL):",
              flush=True)
        names = set(groups) | set(self.before)

        def weight(name: str) -> tuple[int, int]:
            g, b = groups.get(name, Group()), self.before.get(name, Group())
            return abs(g.bytes - b.bytes), g.bytes

        for name in sorted(names, key=weight, reverse=True)[:top]:
            g, b = groups.get(name, Group()), self.before.get(name, Group())
            ttl = f"{g.max_ttl} s" if g.max_ttl >= 0 else "-"
            print(f"    {name}: {g.keys} ({g.keys - b.keys:+d}) keys, {g.bytes / 1024:.1f} KiB "
                  f"({(g.bytes - b.bytes) / 1024:+.1f}); no TTL {g.no_ttl}; longest TTL {ttl}", flush=True)
        self.before, self.info_before = groups, now


class PhasePeaks:
    """``used_memory`` and ``used_memory_peak`` at the end of each phase of a round: which phase raised the peak
    (an allocator that keeps what it was given, as the embedded server's libc malloc does, keeps the peak resident)."""

    def __init__(self, conn: Any, enabled: bool = True) -> None:
        self.conn, self.enabled = conn, enabled
        self.marks: list[tuple[str, float, float]] = []
        self.mark("round begins")

    def mark(self, phase: str) -> None:
        if not self.enabled:
            return
        info: Any = self.conn.info("memory")
        self.marks.append((phase, int(info["used_memory"]) / 2**20, int(info["used_memory_peak"]) / 2**20))

    def show(self) -> None:
        if not self.enabled:
            return
        print("  Redis by phase (used_memory / used_memory_peak MiB): " + "; ".join(
            f"{phase} {used:.2f} / {peak:.2f}" for phase, used, peak in self.marks), flush=True)

"""Posting budgets per network, per app and per person, kept in Redis so every worker on every host shares them.

Each rule of ``DELIVERY_BUDGETS`` (``x:app:86400:1667`` = the app may post 1,667 times a day on X) is a fixed window
counter whose key names the window it counts, so it frees itself when the window ends. One Lua script checks every
rule of a share and spends from all of them, or from none, atomically: two workers can never both take the last
post of a budget. A network's own "wait until" (a 429 with its Retry-After or reset time) is kept the same way, per
person, or for the whole app when the network says the limit is the app's (LinkedIn's APPLICATION DAY limit), so no
worker asks again before that time. Only such a daily limit waits until midnight UTC: a 429 that names no time waits
a short backoff (``publishing``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from flask import current_app
from redis import Redis

from advocacy.config import parse_budgets

PREFIX = "advocacy:budget"

# KEYS: budget counters, then wait-until keys. ARGV: now (ms), number of counters, then per counter: limit, reset (ms).
_TAKE = """
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local wait_until = 0
for i = 1, n do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used >= tonumber(ARGV[1 + 2 * i]) then
    wait_until = math.max(wait_until, tonumber(ARGV[2 + 2 * i]))
  end
end
for i = n + 1, #KEYS do
  local until_ms = tonumber(redis.call('GET', KEYS[i]) or '0')
  if until_ms > now then wait_until = math.max(wait_until, until_ms) end
end
if wait_until > 0 then return wait_until end
for i = 1, n do
  redis.call('INCR', KEYS[i])
  redis.call('PEXPIREAT', KEYS[i], tonumber(ARGV[2 + 2 * i]) + 60000)
end
return 0
"""


@lru_cache(maxsize=8)
def _take_script(conn: Redis) -> Any:
    """The budget script registered with this client: each call sends its SHA (``EVALSHA``), not its text."""
    return conn.register_script(_TAKE)


def rules() -> Sequence[tuple[str, str, int, int]]:
    """Every budget rule: (network, app or user, window seconds, posts)."""
    value = current_app.config["DELIVERY_BUDGETS"]
    return parse_budgets(value) if isinstance(value, str) else value  # the default is kept as written


def _rules(network: str) -> Sequence[tuple[str, str, int, int]]:
    return [r for r in rules() if r[0] == network]


def _who(scope: str, account_id: int) -> str:
    return "app" if scope == "app" else f"user:{account_id}"


def take(conn: Redis, network: str, account_id: int, now: float | None = None) -> dt.datetime | None:
    """Spend one post from every budget of ``network`` that applies to this account, or none.

    Returns None when the post may go now, else the time (UTC) the tightest exhausted budget frees.

    Args:
        conn: Redis client.
        network: the network's name (``x``).
        account_id: the connected account posting.
        now: epoch seconds (tests).
    """
    now = time.time() if now is None else now
    keys: list[str] = []
    args: list[int] = [int(now * 1000), 0]
    for _, scope, window, limit in _rules(network):
        slot = int(now // window)
        keys.append(f"{PREFIX}:{network}:{_who(scope, account_id)}:{window}:{slot}")
        args += [limit, (slot + 1) * window * 1000]
    args[1] = len(keys)
    keys.append(f"{PREFIX}:{network}:wait:user:{account_id}")
    keys.append(f"{PREFIX}:{network}:wait:app")
    until = int(_take_script(conn)(keys=keys, args=args))
    return None if until == 0 else dt.datetime.fromtimestamp(until / 1000, dt.UTC)


def wait_until(conn: Redis, network: str, account_id: int | None, until: dt.datetime) -> None:
    """Remember that ``network`` asked us not to come back before ``until`` (for this account, or the whole app).

    Args:
        conn: Redis client.
        network: the network's name.
        account_id: the account the answer was about; None: the app as a whole.
        until: the reset time the network gave.
    """
    who = f"user:{account_id}" if account_id is not None else "app"
    ms = int(until.timestamp() * 1000)
    key = f"{PREFIX}:{network}:wait:{who}"
    current = conn.get(key)
    if current is None or int(current) < ms:
        conn.set(key, ms, pxat=ms + 1000)


def usage(conn: Redis, now: float | None = None) -> list[dict[str, object]]:
    """Each app-wide budget with what is used of its current window (for the operations page)."""
    now = time.time() if now is None else now
    out: list[dict[str, object]] = []
    for network, scope, window, limit in rules():
        if scope != "app":
            continue
        slot = int(now // window)
        used = int(conn.get(f"{PREFIX}:{network}:app:{window}:{slot}") or 0)
        out.append({"network": network, "window": window, "limit": limit, "used": used,
                    "resets_at": dt.datetime.fromtimestamp((slot + 1) * window, dt.UTC)})
    return out

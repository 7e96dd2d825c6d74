"""The throttle's counts in Redis, shared by every process and host of the node: two Lua scripts, each one
atomic step (admit an attempt; settle it), so that concurrent attempts on many processes are counted as one
process would count them.

Per scope: a hash `{ns:auth}:<kind>:<digest>` with `n` failures and `t` the last one's time, expiring with the
window; a sorted set `…:p` of the attempts being checked (scored by when their lease ends); and per
(account, address) a key `{ns:auth}:known:<digest>` while that address is known to the account. Every key
carries the one hash tag `{ns:auth}`, so that on a Redis Cluster they share a slot and the scripts may touch
them together. Times are the caller's wall clock (the hosts of a node keep NTP time), so that the rule is
written once in Python for the tests and here in Lua with the same numbers.
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import NoScriptError

from ..cache.redis_link import RedisLink
from .policy import KNOWN_FOR, LEASE, Keys, Limits, Outcome, Verdict

# KEYS: k counts, k pending sets, the known key. ARGV: now, ticket, lease, base, cap, k, exempt, free × k.
_ADMIT = """
local now, ticket, lease = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local base, cap, k, exempt = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local known = exempt > 0 and redis.call('EXISTS', KEYS[2 * k + 1]) == 1
local worst, kind, count, busy = 0, 0, 0, false
for i = 1, k do
  if not (known and i == exempt) then
    local free = tonumber(ARGV[7 + i])
    local row = redis.call('HMGET', KEYS[i], 'n', 't')
    local n, t = tonumber(row[1] or '0'), tonumber(row[2] or '0')
    if n >= free then
      local wait = math.min(cap, base * 2 ^ math.min(n - free, 60)) - (now - t)
      if wait > worst then worst, kind, count = wait, i, n end
    end
    redis.call('ZREMRANGEBYSCORE', KEYS[k + i], '-inf', now)
    if redis.call('ZCARD', KEYS[k + i]) >= math.max(free - n, 1) then busy = true end
  end
end
if worst > 0 then return {'wait', tostring(worst), kind, count} end
if busy then return {'busy'} end
for i = 1, k do
  if not (known and i == exempt) then
    redis.call('ZADD', KEYS[k + i], now + lease, ticket)
    redis.call('PEXPIRE', KEYS[k + i], math.ceil(lease * 1000))
  end
end
if known then return {'ok', 1} end
return {'ok', 0}
"""

# KEYS as above. ARGV: outcome, ticket, now, base, cap, window, known_for, k, exempt, free × k.
_SETTLE = """
local outcome, ticket, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local base, cap = tonumber(ARGV[4]), tonumber(ARGV[5])
local window, known_for = tonumber(ARGV[6]), tonumber(ARGV[7])
local k, exempt = tonumber(ARGV[8]), tonumber(ARGV[9])
for i = 1, k do redis.call('ZREM', KEYS[k + i], ticket) end
if outcome == 'ok' then
  redis.call('DEL', KEYS[1])
  if exempt > 0 then redis.call('SET', KEYS[2 * k + 1], '1', 'PX', math.ceil(known_for * 1000)) end
elseif outcome == 'fail' then
  local known = exempt > 0 and redis.call('EXISTS', KEYS[2 * k + 1]) == 1
  for i = 1, k do
    if not (known and i == exempt) then
      local free = tonumber(ARGV[9 + i])
      local n = redis.call('HINCRBY', KEYS[i], 'n', 1)
      redis.call('HSET', KEYS[i], 't', ARGV[3])
      local delay = 0
      if n >= free then delay = math.min(cap, base * 2 ^ math.min(n - free, 60)) end
      redis.call('PEXPIRE', KEYS[i], math.ceil(math.max(window, delay) * 1000))
    end
  end
end
return 1
"""


class RedisCounters:
    def __init__(self, link: RedisLink, limits: Limits, *, namespace: str) -> None:
        self._link = link
        self._limits = limits
        self._tag = f"{{{namespace}:auth}}"
        self._shas: dict[str, str] = {}

    def _keys(self, keys: Keys) -> list[str]:
        counts = [f"{self._tag}:{scope.kind}:{scope.digest}" for scope in keys.scopes]
        known = f"{self._tag}:known:{keys.known or '-'}"
        return [*counts, *(f"{name}:p" for name in counts), known]

    @staticmethod
    def _exempt(keys: Keys) -> int:
        """The 1-based position of the scope a known address skips (0: none)."""
        if keys.known is None:
            return 0
        return next((i for i, s in enumerate(keys.scopes, 1) if s.kind == "account"), 0)

    async def admit(self, keys: Keys, ticket: str, now: float) -> Verdict:
        limits, frees = self._limits, [scope.free for scope in keys.scopes]
        args = [now, ticket, LEASE, limits.base, limits.lockout_max, len(frees), self._exempt(keys), *frees]
        reply = await self._run(_ADMIT, self._keys(keys), args)
        verdict = _text(reply[0])
        if verdict == "ok":
            return Verdict(True, known=int(reply[1]) == 1)
        if verdict == "busy":
            return Verdict(False, busy=True)
        scope = keys.scopes[int(reply[2]) - 1]
        return Verdict(False, float(_text(reply[1])), scope.kind, int(reply[3]))

    async def settle(self, keys: Keys, ticket: str, outcome: Outcome, now: float) -> None:
        limits, frees = self._limits, [scope.free for scope in keys.scopes]
        args = [
            outcome.value, ticket, now, limits.base, limits.lockout_max, limits.window, KNOWN_FOR,
            len(frees), self._exempt(keys), *frees,
        ]  # fmt: skip
        await self._run(_SETTLE, self._keys(keys), args)

    async def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        data = self._link.data
        sha = self._shas.get(script)
        if sha is None:
            sha = self._shas[script] = str(await data.script_load(script))
        try:
            return await data.evalsha(sha, len(keys), *keys, *args)
        except NoScriptError:  # Redis restarted and forgot the script
            self._shas.pop(script, None)
            sha = self._shas[script] = str(await data.script_load(script))
            return await data.evalsha(sha, len(keys), *keys, *args)


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)

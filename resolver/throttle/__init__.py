"""Abuse resistance of authentication: failed logins and Basic secrets are throttled, never the right one
for ever.

## The rule
Every check of a password (SNMS login, either form) or of a Basic secret (Handle REST, the admin API) is
measured by three counts of failures, each forgetting a failure `IDNODE_AUTH_WINDOW` seconds (1 h) after
the last one:

| scope | forgives | so that |
| --- | --- | --- |
| (account, address) | `IDNODE_AUTH_FAILURES` (5) | one address guessing one account is slowed at once |
| address, across accounts | 4 × that (20) | one address trying many accounts (spraying) is slowed |
| account, across addresses | 10 × that (50) | many addresses on one account (a botnet) are slowed |

Past what a scope forgives, each further failure doubles the delay before the next attempt (1 s, 2 s, 4 s, …,
at most `IDNODE_AUTH_LOCKOUT_MAX`, 15 min); an attempt within the delay is refused without being checked —
HTTP 429 with `Retry-After` (Handle REST), the SNMS envelope's status -2 with `Retry-After` (SNMS). Refused
attempts count for nothing, so hammering does not lengthen the delay; a success clears the
(account, address) count.

Why a stranger cannot lock the owner out: the strict counts are the stranger's own — its address's, and its
address's with the account. Since a refused attempt is not counted, one address hammering an account adds to
the account's count only at the pace its own delays allow (a handful an hour at the maximum delay). The
account's count, the only one the owner shares with a stranger, forgives the most, and does not apply at all
to an address the account has logged in from in the last 30 days (a known address): even a botnet holding the
account's count high delays the owner only at a new address, and by at most the lockout maximum per attempt.
And every delay ends.

Parallel guesses: an attempt holds a place in each of its scopes while it is checked (a lease of 60 s, for a
process that dies mid-check), and a scope lets no more attempts be checked at once than it still forgives, so
a thousand guesses sent at once are a thousand counted one after the other. An attempt that finds no place
waits for one a little (up to about 3 s) rather than being refused: a plant's MES lines logging in together
are served in turns. A secret that was right for the (account, address) in the last minute is no guess: it
passes without being counted, so a client's stream of Basic-authenticated writes costs the throttle nothing.

Bearer tokens: a valid signature proves an earlier login, so a valid token never meets the throttle (no
cost on SNMS calls). A token whose signature does not verify is counted for its address apart from passwords
(a scope `token`, forgiving as the address scope does), so that clients holding another node's tokens never
delay their address's logins; expired or revoked tokens, which the node signed, are not counted.

## Where the counts live
With `IDNODE_REDIS_URL`, in Redis (`shared.py`): every process and host of the node counts together. Redis's
health has one owner (`resolver.health.RedisHealth`): while it says Redis is down (or a call fails), each
process counts in its own memory (`memory.py`), so guessing is still throttled, though per process (with N
workers, up to N times the allowance) until Redis answers again; the counts made meanwhile are not merged
back. Without Redis, each process counts alone, bounded in memory.

## Events
Each authentication failure and each refusal (once per scope and delay step, not per refused request) is
reported to an optional async `listener` (`AuthEvent`: kind, account, address, dialect; never a secret), for
the audit log. The listener failing is logged, never answered as a server error.
"""

from .guard import AuthEvent, AuthThrottle, Listener, Throttled
from .policy import Limits
from .shared import RedisCounters
from .sources import Sources

__all__ = ["AuthEvent", "AuthThrottle", "Limits", "Listener", "RedisCounters", "Sources", "Throttled"]

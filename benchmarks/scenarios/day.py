"""locust users of supply_chain_day: a node's day at a fixed pace rather than flat out.

Suppliers read at a set rate, MES lines register coils in batches at a set rate, and single creates, updates
and logins come at theirs; every class has a fixed number of users, so the rates are the harness's to choose
(`inputs.DAY_RATES`). The harness runs the readers alone, then everything together at the same read
rate: the difference in the readers' latency is what the writes cost them.

A user keeps to its pace on a schedule of due times (one period after the last), not by sleeping a fixed
time after each request: a slow answer is followed by the next request at once, with no burst to catch up.
"""

from __future__ import annotations

import os
import time

from locust import task

from ..data import as_snms, coil
from .inputs import DAY_RATES, DAY_USERS, login, seeded_records
from .resolve import ACCEPT, Picker
from .snms import COIL_VALUES, NUMBERS, SnmsUser, check, unique


class Paced(Picker):
    """A user running its task at its share of its class's rate (`units` a task: coils, for batches)."""

    abstract = True
    typical_units = 1.0  # what one task usually counts

    def on_start(self) -> None:
        super().on_start()
        name = type(self).__name__
        self._rate = float(os.environ.get(DAY_RATES[name], "0")) / DAY_USERS[name]
        assert self._rate > 0, f"{DAY_RATES[name]} sets the rate of {name}"
        # Users of a class start together: each waits for a random point of its first period, so that they
        # do not send their first requests (batches of hundreds, for MES lines) all at once.
        self._due = time.monotonic() + self.rng.random() * self.typical_units / self._rate
        self._units = 1.0
        time.sleep(max(0.0, self._due - time.monotonic()))  # gevent's: locust patches the standard library

    def wait_time(self) -> float:
        now = time.monotonic()
        self._due = max(self._due + self._units / self._rate, now)
        return self._due - now


class DayReader(Paced):
    """A supplier's resolutions: GETs of Zipf-skewed handles."""

    fixed_count = DAY_USERS["DayReader"]

    @task
    def resolve(self) -> None:
        self.client.get(self.pick(), name="day: GET /api/handles", headers=ACCEPT)


class PacedSnms(Paced, SnmsUser):
    """Logs in first (SnmsUser), then keeps its pace."""

    abstract = True


class MesLine(PacedSnms):
    """An MES line registering new coils in batches of 100 to 1,000; its pace counts coils, not requests."""

    fixed_count = DAY_USERS["MesLine"]
    typical_units = 550.0  # coils in a batch of 100 to 1,000, on average

    @task
    def batch_create(self) -> None:
        count = self.rng.randint(100, 1_000)
        self._units = float(count)
        self.create_coils(count, "day: batchCreate")


class DayCreate(PacedSnms):
    """Single creates of new coils (a line's one-off registrations)."""

    fixed_count = DAY_USERS["DayCreate"]

    @task
    def create(self) -> None:
        record = as_snms(unique(coil(next(NUMBERS), login()[0], self.rng, COIL_VALUES)))
        self.snms("POST", "/identityv2/data", "day: create", json=record)


class DayUpdate(PacedSnms):
    """Single updates of seeded coils (the odd records of data.records())."""

    fixed_count = DAY_USERS["DayUpdate"]

    @task
    def update(self) -> None:
        n = 2 * self.rng.randrange(seeded_records() // 2) + 1
        record = as_snms(coil(n, login()[0], self.rng, COIL_VALUES))
        self.snms("PUT", "/identityv2/data", "day: update", json=record)


class DayLogin(Paced):
    """SNMS logins, each a slow password hash on the node: lines and suppliers reconnecting."""

    fixed_count = DAY_USERS["DayLogin"]

    @task
    def login(self) -> None:
        username, password = login()
        body = {"username": username, "password": password}
        with self.client.post("/identity/token", json=body, name="day: login", catch_response=True) as answer:
            check(answer)

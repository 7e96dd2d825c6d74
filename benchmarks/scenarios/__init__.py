"""The load scenarios: what each seeds, which locust user class drives it, and its defaults.

The user classes live in `resolve` and `snms` (they import locust); this catalog does not, so the harness
can read it without locust's gevent patches.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Requests(Enum):
    """What the requests file holds (benchmarks/workload.py): what locust and wrk pick from."""

    ZIPF = "Zipf-sampled GET paths"
    UNIFORM = "every seeded handle's GET path once"
    ZIPF_BATCHES = "POST /api/resolve lines of 100 consecutive Zipf samples"
    NONE = "none"


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    user_class: str  # in benchmarks/locustfile.py
    records: int  # seeded with data.records() before the node starts
    template: bool  # the steel-coil template loaded, for SNMS writes
    requests: Requests
    wrk: bool  # capacity with wrk, and nginx serving one answer's bytes, measured in the same run
    warm: bool  # every handle the requests name put in the caches before measuring
    users: int  # defaults, chosen to give no errors here
    seconds: int
    per_request: int = 1  # handles resolved or identifiers created by one request of the main task
    native: bool = False  # no locust: hdlload over UDP and TCP, wrk and nginx (benchmarks/resolve_native.py)
    paced: bool = False  # readers alone, then beside writers, each class at its rate (benchmarks/day.py)
    scale: bool = False  # wrk at 10^5 and 10^7 identifiers on PostgreSQL, no locust (benchmarks/scale.py)
    soak: bool = False  # the mix's peak, then 80 % of it for long, memory sampled (benchmarks/soak.py)
    remote: bool = False  # three nodes, another's handles asked through one (benchmarks/resolve_remote.py)


SCENARIOS = {
    scenario.name: scenario
    for scenario in [
        Scenario(
            "resolve_hot",
            "GETs of Zipf(1.1)-skewed handles over 100,000 identifiers (mostly L1 hits)",
            "ResolveHot", 100_000, False, Requests.ZIPF, wrk=True, warm=True, users=50, seconds=30,
        ),
        Scenario(
            "resolve_native",
            "resolve_hot's handles over the native Handle protocol, UDP and TCP, against HTTP GETs and nginx",
            "", 100_000, False, Requests.ZIPF, wrk=True, warm=True, users=0, seconds=9, native=True,
        ),
        Scenario(
            "resolve_cold",
            "GETs spread uniformly over 1,000,000 identifiers (mostly store reads)",
            "ResolveCold", 1_000_000, False, Requests.UNIFORM, wrk=True, warm=False, users=50, seconds=30,
        ),
        Scenario(
            "resolve_batch",
            "POST /api/resolve of 100 Zipf-skewed handles a request over 100,000 identifiers",
            "ResolveBatch", 100_000, False, Requests.ZIPF_BATCHES, wrk=True, warm=True, users=20, seconds=30,
            per_request=100,
        ),
        Scenario(
            "register_batch",
            "SNMS batchCreate of 1,000 new steel coils (template 1.0) a request",
            "RegisterBatch", 0, True, Requests.NONE, wrk=False, warm=False, users=4, seconds=30,
            per_request=1_000,
        ),
        Scenario(
            "supply_chain_mix",
            "90% Zipf GETs, 5% batchCreate of 100-1,000 coils, 4% SNMS updates, 1% SNMS details",
            "SupplyChainMix", 100_000, True, Requests.ZIPF, wrk=False, warm=True, users=20, seconds=30,
        ),
        Scenario(
            "supply_chain_day",
            "readers at half the node's capacity, alone and beside 2,000 coils/s of batchCreate, creates,"
            " updates and logins",
            "DayReader", 100_000, True, Requests.ZIPF, wrk=True, warm=True, users=109, seconds=30, paced=True,
        ),
        Scenario(
            "scale",
            "hot and cold GET/s with 100,000 and with 10,000,000 identifiers registered, on PostgreSQL",
            "", 10_000_000, False, Requests.NONE, wrk=True, warm=True, users=0, seconds=9, scale=True,
        ),
        Scenario(
            "soak",
            "supply_chain_mix's peak, then 80% of each of its rates, paced, for 10 minutes; resident memory"
            " and event loop tasks sampled",
            "SupplyChainMix", 100_000, True, Requests.ZIPF, wrk=False, warm=True, users=106, seconds=600,
            soak=True,
        ),
        Scenario(
            "resolve_remote",
            "GETs of another node's handles, first (one round trip to it each) and cached, against the node's"
            " own hot and cold GETs: three nodes, 100,000 identifiers each",
            "", 100_000, False, Requests.NONE, wrk=True, warm=True, users=0, seconds=9, remote=True,
        ),
    ]
}  # fmt: skip

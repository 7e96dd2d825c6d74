"""The composition root: a node built from one typed `Settings`, here and nowhere else.

`open_node` wires a serving process — store, the registry's services, the health of the database and
Redis, the pipeline's stages in their fixed order, coherence, invalidation and the journal follower;
`build_app` puts the front ends in front of it. `open_writer` wires a process that writes but does not
resolve (`idnode`'s commands on the node's database): its writes reach running nodes' caches all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from registry import NodeNotInitialised, Passwords, RegistryError, Services, Store
from registry.audit import FAILED, THROTTLED, Audit
from registry.hierarchy import Parent
from registry.store.migrate import head_revision, schema_revision

from .cache.coherence import Coherence, LocalCoherence, RedisCoherence, shared_slots_path
from .cache.l1 import L1Cache
from .cache.l2 import RedisL2
from .cache.redis_link import REDIS_FAILURES, RedisLink
from .cache.stages import Freshness, L1Stage, L2Stage
from .frontends.context import Context
from .health import Health, RedisHealth
from .invalidation import Invalidator, JournalFollower
from .metrics import Metrics
from .pipeline import Pipeline, Stage, StoreStage
from .reporting import Reporter, ResolutionStats
from .reporting.reporter import reporting
from .settings import Settings
from .signing import AnswerSigner
from .throttle import AuthThrottle, Limits, RedisCounters, Sources
from .throttle.guard import AuthEvent, Listener
from .upstream import Remote, UpstreamStage
from .write_processes import WriteProcesses

log = logging.getLogger("idnode")
_PREFIX = re.compile(r"[0-9]+(\.[0-9A-Z]+)*")
# How often a serving process deletes the audit events past their keeping (each process does: it is cheap).
AUDIT_PRUNE_SECONDS = 6 * 3600


class NotReady(RuntimeError):
    """The node cannot start; the message says what to do."""


def namespace_of(node_prefix: str) -> str:
    """Redis keys and channels of one node, so that several nodes may share a Redis."""
    return f"idnode:{node_prefix}"


def safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


@dataclass
class Node:
    """A node process's parts, and how to close them."""

    settings: Settings
    services: Services
    metrics: Metrics
    database: Health
    redis: RedisHealth | None
    coherence: Coherence
    invalidator: Invalidator
    pipeline: Pipeline | None = None
    signer: AnswerSigner | None = None
    throttle: AuthThrottle | None = None
    writes: WriteProcesses | None = None  # SNMS batches written elsewhere (IDNODE_WRITE_PROCESSES)
    upstream: Upstream | None = None
    stats: ResolutionStats | None = None  # resolutions counted for the reports to the parent
    reporter: Reporter | None = None  # on a node with a parent

    @property
    def parent(self) -> Parent | None:
        """The node's parent: as the settings name it, else as `idnode init` set it."""
        return parent_of(self.settings, self.services)

    @property
    def context(self) -> Context:
        """What the front ends are given."""
        if self.pipeline is None or self.signer is None or self.throttle is None:
            raise NotReady("this node process does not resolve")
        return Context(
            self.services, self.pipeline, self.database, self.metrics, self.signer, self.throttle,
            self.writes, self.stats or ResolutionStats(counting=False),
        )  # fmt: skip


async def _services(settings: Settings, store: Store, passwords: Passwords | None) -> Services:
    where = safe_url(settings.database_url)
    try:
        services = await Services.open(store, passwords=passwords, credential_key=settings.credential_key)
    except NodeNotInitialised:
        raise NotReady(f"{where} holds no node: run `idnode init --node-prefix …` first") from None
    except (OperationalError, ProgrammingError) as exc:
        raise NotReady(f"cannot use {where} ({exc.orig}): run `idnode init` to create its schema") from None
    except OSError as exc:
        raise NotReady(f"cannot reach {where}: {exc}") from None
    revision, head = await schema_revision(store.reader), head_revision()
    if revision != head:
        raise NotReady(f"{where} has schema {revision}, this node needs {head}: run `idnode migrate` first")
    if services.node.naming.case_sensitive != settings.case_sensitive:
        rule = "yes" if services.node.naming.case_sensitive else "no"
        raise NotReady(
            f"node {services.node.prefix} tells handles apart {services.node.naming.label}ly: "
            f"set IDNODE_CASE_SENSITIVE={rule} (the case rule is fixed when the node is set up)"
        )
    return services


async def _signer(settings: Settings, services: Services) -> AnswerSigner:
    """The node's signing key, made now if the node has none yet (a node set up before signing existed)."""
    try:
        await services.signing.ensure(settings.signing_alg)
        signer = AnswerSigner(services.signing)
        await signer.current()  # a key this process cannot unseal stops it here, with the reason
    except RegistryError as exc:
        raise NotReady(exc.message) from None
    return signer


def _coherence(
    settings: Settings, link: RedisLink | None, metrics: Metrics, redis: RedisHealth | None, ns: str
) -> Coherence:
    if link is None or redis is None:
        return LocalCoherence(shared_slots_path(settings.database_url))
    timeout = settings.coherence_timeout_ms / 1000
    return RedisCoherence(link, metrics, redis, namespace=ns, timeout=timeout)


def _throttle(
    settings: Settings,
    link: RedisLink | None,
    metrics: Metrics,
    redis: RedisHealth | None,
    ns: str,
    audit: Audit,
) -> AuthThrottle:
    limits = Limits(settings.auth_failures, settings.auth_lockout_max, settings.auth_window)
    shared = RedisCounters(link, limits, namespace=ns) if link is not None else None
    return AuthThrottle(
        limits,
        sources=Sources(settings.trusted_proxies),
        shared=shared,
        redis=redis,
        metrics=metrics,
        listener=_audited(audit),
    )


def _audited(audit: Audit) -> Listener:
    """The throttle's events as audit events (`auth.auth_failed`, `auth.throttled`), under the prefix the
    account names when it names one, so that the enterprise sees who tried its accounts."""

    async def heard(event: AuthEvent) -> None:
        outcome = THROTTLED if event.kind == "throttled" else FAILED
        await audit.record(
            f"auth.{event.kind}", outcome=outcome, actor=event.account, target=event.account or "",
            prefix=_prefix_named(event.account), detail=f"{event.dialect} from {event.source}",
        )  # fmt: skip

    return heard


def _prefix_named(account: str | None) -> str | None:
    """`88.999.1` of `300:0.na/88.999.1` (a Basic principal's key) or of `88.999.1` (an SNMS admin)."""
    if not account:
        return None
    _, marker, rest = account.upper().rpartition("0.NA/")
    candidate = rest if marker else account
    return candidate if _PREFIX.fullmatch(candidate) else None


async def _close_link(link: RedisLink) -> None:
    with contextlib.suppress(*REDIS_FAILURES):
        await link.close()


@contextlib.asynccontextmanager
async def open_node(settings: Settings, *, passwords: Passwords | None = None) -> AsyncIterator[Node]:
    """A serving node process: store → L2 → L1 (each cache only when configured), coherence, invalidation
    and the journal follower, all closed on the way out."""
    async with contextlib.AsyncExitStack() as stack:
        store = Store.open(settings.database_url, pool_size=settings.db_pool_size)
        stack.push_async_callback(store.close)
        services = await _services(settings, store, passwords)
        retry_after = settings.store_retry_ms / 1000
        metrics, database = Metrics(), Health("store", retry_after=retry_after)
        link = RedisLink.open(settings.redis_url) if settings.redis_url else None
        redis = RedisHealth(retry_after=retry_after) if link is not None else None
        if link is not None:
            stack.push_async_callback(_close_link, link)
        metrics.health += [h for h in (database, redis) if h is not None]
        # Requests in flight and background work: under a steady load a count that keeps growing is a queue
        # the node does not keep up with (the soak benchmark watches it).
        metrics.gauges["event_loop_tasks"] = lambda: len(asyncio.all_tasks())
        namespace = namespace_of(services.node.prefix)
        freshness = Freshness(
            max_ttl=settings.cache_max_ttl,
            negative_ttl=settings.negative_ttl,
            stale_seconds=settings.stale_seconds,
        )
        stage: Stage = StoreStage(store.points, database, metrics)
        l2 = None
        if settings.l2 and link is not None and redis is not None:
            l2 = RedisL2(link, namespace=namespace, stale_seconds=settings.stale_seconds)
            l2_stage = L2Stage(stage, l2, freshness, metrics, redis)
            stack.push_async_callback(l2_stage.close)
            stage = l2_stage
        coherence = _coherence(settings, link, metrics, redis, namespace)
        stack.push_async_callback(coherence.close)
        l1, l1_stage = None, None
        if settings.l1:
            l1 = L1Cache(max_entries=settings.cache_entries, max_bytes=settings.cache_bytes)
            stage = l1_stage = L1Stage(stage, l1, coherence, freshness, metrics)
            metrics.gauges["l1_entries"] = lambda: len(l1)
            metrics.gauges["l1_bytes"] = lambda: l1.bytes
            # 0 while no write could be heard of (Redis down): L1 then serves no hits, only stale stand-ins.
            metrics.gauges["l1_usable"] = lambda: int(coherence.usable)
        invalidator = Invalidator(coherence, l1=l1, l2=l2, redis=redis)
        await coherence.start(invalidator.forget_remote)
        services.feed.subscribe(invalidator.changed)
        follower = JournalFollower(
            services.feed.cursor(),
            read=store.points.many,
            changed_since=services.feed.changed_since,
            invalidator=invalidator,
            metrics=metrics,
            redis=redis,
            interval=settings.journal_poll_ms / 1000,
        )
        await follower.start()
        stack.push_async_callback(follower.close)
        pruning = asyncio.create_task(_prune_audit(services.audit, settings.audit_days))
        stack.push_async_callback(_cancel, pruning)
        upstream = _upstream(settings, services, stage)
        stack.push_async_callback(upstream.close)
        if upstream.remote.parent_health is not None:
            metrics.health.append(upstream.remote.parent_health)  # idnode_parent_up
        metrics.gauges["upstream_queries"] = lambda: upstream.stage.asked  # asked of other nodes, so far
        metrics.gauges["upstream_cached"] = lambda: upstream.stage.cached
        own = services.node.prefix
        pipeline = Pipeline(
            stage, services.node.naming, ready=l1_stage, own_prefix=own, upstream=upstream.stage,
            delegating=services.place.top_level,
        )  # fmt: skip
        signer = await _signer(settings, services)
        throttle = _throttle(settings, link, metrics, redis, namespace, services.audit)
        writes = None
        if settings.write_processes:
            writes = WriteProcesses(settings.write_processes)
            stack.push_async_callback(writes.close)
            await writes.start()
        parent = parent_of(settings, services)
        stats = ResolutionStats(counting=parent is not None)
        watched = (database, redis, upstream.remote.parent_health)
        reporting_cm = reporting(settings, services, parent, stats, metrics, watched)
        reporter = await stack.enter_async_context(reporting_cm)
        yield Node(
            settings, services, metrics, database, redis, coherence, invalidator, pipeline, signer, throttle,
            writes, upstream, stats, reporter,
        )  # fmt: skip


@contextlib.asynccontextmanager
async def open_writer(settings: Settings) -> AsyncIterator[Node]:
    """A process that writes but does not resolve: its writes are invalidated in Redis and announced to every
    running node (or, without Redis, seen at once through the shared tokens) before they return."""
    async with contextlib.AsyncExitStack() as stack:
        store = Store.open(settings.database_url, pool_size=2)
        stack.push_async_callback(store.close)
        services = await _services(settings, store, None)
        metrics, database = Metrics(), Health("store")
        link = RedisLink.open(settings.redis_url) if settings.redis_url else None
        redis = RedisHealth() if link is not None else None
        l2 = None
        if link is not None:
            stack.push_async_callback(_close_link, link)
            l2 = RedisL2(
                link, namespace=namespace_of(services.node.prefix), stale_seconds=settings.stale_seconds
            )
            stack.push_async_callback(l2.close)
        coherence = _coherence(settings, link, metrics, redis, namespace_of(services.node.prefix))
        stack.push_async_callback(coherence.close)
        invalidator = Invalidator(coherence, l2=l2, redis=redis)
        # Confirmations come back on this process's own channel: it listens before it announces anything.
        await coherence.start(invalidator.forget_remote)
        with contextlib.suppress(TimeoutError):  # Redis down: the writes still go through, unannounced
            await asyncio.wait_for(coherence.wait_usable(), settings.coherence_timeout_ms / 1000)
        services.feed.subscribe(invalidator.changed)
        yield Node(settings, services, metrics, database, redis, coherence, invalidator)


@dataclass
class Upstream:
    """The upstream stage and the HTTP client it asks other nodes with."""

    stage: UpstreamStage
    remote: Remote

    async def close(self) -> None:
        await self.remote.close()


def parent_of(settings: Settings, services: Services) -> Parent | None:
    held = services.place.parent
    url = settings.parent_url or (held.url if held else None)
    secret = settings.parent_secret or (held.secret if held else None)
    return None if url is None or secret is None else Parent(url, secret)


def _upstream(settings: Settings, services: Services, local: Stage) -> Upstream:
    """Where handles living elsewhere are resolved: the parent (a secondary node's) knows where each prefix
    lives; a top-level node knows the node prefixes it allocated."""
    parent = parent_of(settings, services)
    url = None if parent is None else parent.url
    remote = Remote(
        timeout=settings.upstream_timeout_ms / 1000, retry_after=settings.store_retry_ms / 1000, parent=url
    )
    stage = UpstreamStage(
        local, services.node.naming, remote, own_prefix=services.node.prefix, parent=url,
        recursion=settings.recursion, delegating=services.place.top_level, max_ttl=settings.cache_max_ttl,
        negative_ttl=settings.negative_ttl, stale_seconds=settings.stale_seconds,
    )  # fmt: skip
    return Upstream(stage, remote)


async def _prune_audit(audit: Audit, days: int, every: float = AUDIT_PRUNE_SECONDS) -> None:
    """Keep the audit to its last `days` days: now, then every `every` seconds (a failure waits for the
    next time)."""
    while True:
        try:
            gone = await audit.prune(days)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("audit events past %d days not deleted: %s", days, exc)
        else:
            if gone:
                log.info("%d audit events past %d days deleted", gone, days)
        await asyncio.sleep(every)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


# How long a thread may hold the interpreter before another one gets it (Python's default: 5 ms). A serving
# process's event loop shares it with the SQLite driver's thread and the HTTP server's threads; while one of
# those works, every resolution waiting on the loop waited up to the whole interval at each hand-over. At
# 0.5 ms the readers' GET p99 beside MES lines fell by a fifth to a third (supply_chain_day, three pairs of
# runs), with no loss of hot-GET or batch throughput.
SWITCH_INTERVAL = 0.0005


def settle_interpreter() -> None:
    """Hand the interpreter between threads often (`SWITCH_INTERVAL`); and settle the garbage collector."""
    sys.setswitchinterval(SWITCH_INTERVAL)
    settle_garbage_collector()


def settle_garbage_collector() -> None:
    """Move what start-up built (modules, app, pools: some hundred thousand objects) out of the collector's
    way, since every full collection would walk them all (a pause of tens of milliseconds under load); and
    collect the young generation after 50,000 allocations rather than 700, since a batch of 2,000 records
    allocates some hundred thousand short-lived objects (it halves a batch's time here)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)

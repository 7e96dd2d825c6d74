"""SNMS batch writes in processes of their own (`IDNODE_WRITE_PROCESSES=N`): reads never wait for them.

A batch of a thousand coils costs its serving process about a quarter of a second of its event loop: parsing,
checking against the template, encoding and storing each record. Resolutions waiting behind that on the same
loop is what made the readers' p99 five to eleven times longer in a day of writes (benchmarks/README.md). With
write processes, the serving process only authenticates the request and hands its bytes over; a write process
(at nice +10, so that the readers' processes get the CPU first) does the rest through the registry, like
`idnode`'s own commands (`open_writer`): its writes are invalidated and announced to every serving process
before it answers, so a client reads its own writes from any of them.

Each write process is a child of its serving process (running `main` below), one batch at a time over its
stdin and stdout: a length-prefixed pickle each way, between processes of the same program.
Plain pipes rather than `multiprocessing`, whose resource tracker outlives a serving process that is stopped
and whose spawn imports the server's main module again. A write process that dies fails the batch it was
writing with SNMS status -4 (retry: an item already written answers "exists") and is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import struct
import sys
from typing import TYPE_CHECKING, Any

from registry import Principal
from registry.audit import source

from .frontends.snms.envelope import INTERNAL, INTERNAL_ERROR, OK, SUCCESS, failure_of
from .frontends.snms.identifiers import BATCH_WRITES, batch_results
from .settings import Settings

if TYPE_CHECKING:
    from .node import Node

log = logging.getLogger(__name__)

NICE = 10  # CPU priority of the write processes below the serving ones: the kernel runs reads first
STOP_SECONDS = 10.0  # for a write process to finish its batch and exit once its serving process stops
Outcome = tuple[int, str, Any]  # an SNMS envelope's status, message and data
_LENGTH = struct.Struct(">I")


def _frame(message: object) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


async def _read_frame(stream: asyncio.StreamReader) -> Any:
    (length,) = _LENGTH.unpack(await stream.readexactly(_LENGTH.size))
    return pickle.loads(await stream.readexactly(length))


class _Child:
    """One write process, and the pipes to it."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls) -> _Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from resolver.write_processes import main; main()",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        child = cls(process)
        await child.call(("ready",))  # it has opened the registry: the first batch does not pay for that
        return child

    async def call(self, message: tuple[Any, ...]) -> Any:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        if stdin.is_closing():
            raise ConnectionResetError("the write process has gone")
        try:
            stdin.write(_frame(message))
        except RuntimeError as exc:  # uvloop's, for a pipe found closed meanwhile
            raise ConnectionResetError(str(exc)) from exc
        await stdin.drain()
        return await _read_frame(stdout)

    async def stop(self) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(OSError):
            self.process.stdin.close()  # end of input: it exits once its batch is written
        try:
            await asyncio.wait_for(self.process.wait(), STOP_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


class WriteProcesses:
    """The write processes of one serving process; each batch goes to an idle one."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._idle: asyncio.Queue[_Child] = asyncio.Queue()
        self._all: set[_Child] = set()

    async def start(self) -> None:
        for child in await asyncio.gather(*(_Child.start() for _ in range(self._count))):
            self._all.add(child)
            self._idle.put_nowait(child)

    async def snms_batch(self, kind: str, principal: Principal, body: bytes) -> Outcome:
        """SNMS `batchCreate` (`kind` "create") or `batchUpdate` ("update") of `body` by `principal`."""
        child = await self._idle.get()
        try:
            outcome: Outcome = await child.call(("snms_batch", kind, principal, body, source.get()))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            log.warning("write process %d died (%r): its batch failed", child.process.pid, exc)
            self._all.discard(child)
            await child.stop()
            child = await _Child.start()
            self._all.add(child)
            return INTERNAL, INTERNAL_ERROR, None
        finally:
            self._idle.put_nowait(child)
        return outcome

    async def close(self) -> None:
        children, self._all = self._all, set()
        await asyncio.gather(*(child.stop() for child in children))


# ------------------------------------------------------------------------------- in a write process


async def _write(node: Node, kind: str, principal: Principal, body: bytes, address: str) -> Outcome:
    source.set(address)  # the audit names the client, as in the serving process
    try:
        return OK, SUCCESS, await batch_results(node.services.records, principal, body, BATCH_WRITES[kind])
    except Exception as exc:  # every failure answered in SNMS terms, as the endpoint would
        return (*failure_of(exc), None)


async def _serve() -> None:
    """Batches from the serving process, one at a time, until it closes our stdin."""
    from .node import open_writer

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    answers = os.fdopen(sys.stdout.fileno(), "wb", buffering=0, closefd=False)
    async with open_writer(Settings.from_env()) as node:
        while True:
            try:
                message = await _read_frame(reader)
            except asyncio.IncompleteReadError:
                return  # the serving process is stopping
            outcome = os.getpid() if message[0] == "ready" else await _write(node, *message[1:])
            answers.write(_frame(outcome))


def main() -> None:
    os.nice(NICE)
    # A stop signal to the node's process group is its serving processes' to act on: they finish their
    # requests, then close our stdin, and we exit once the batch in hand is written and answered.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(stream=sys.stderr, level=Settings.from_env().log_level.upper())
    asyncio.run(_serve())

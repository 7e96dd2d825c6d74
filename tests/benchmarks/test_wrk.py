"""wrk driven by benchmarks/paths.lua sends the requests file's lines as written; nginx, the reference,
answers every one of them with the same bytes."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from benchmarks.machine import free_port
from benchmarks.wrk import WrkLoad, nginx_serving, run_wrk

BATCH = '{"handles": ["88.999.1/PART-00000000", "88.999.1/COIL-000000001"]}'
LINES = [
    "/api/handles/88.999.1/PART-00000000",
    "/api/handles/88.999.1/COIL-000000001",
    "POST /api/resolve " + BATCH,
]


class Recorder(BaseHTTPRequestHandler):
    """Answers every request 200 and records its method, path and body."""

    protocol_version = "HTTP/1.1"  # keep-alive, as wrk expects
    seen: Counter[tuple[str, str, str]]
    lock = threading.Lock()

    def _answer(self, body: str = "") -> None:
        with self.lock:
            self.seen[(self.command, self.path, body)] += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer(self.rfile.read(int(self.headers["Content-Length"])).decode())

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, Counter[tuple[str, str, str]]]]:
    Recorder.seen = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def requests_file(tmp_path: Path) -> Path:
    path = tmp_path / "requests.txt"
    path.write_text("\n".join(LINES) + "\n")
    return path


def test_every_line_is_sent_as_written(
    recorder: tuple[str, Counter[tuple[str, str, str]]], requests_file: Path
) -> None:
    base, seen = recorder
    result = run_wrk(WrkLoad(threads=1, connections=2, seconds=1).command(base, requests_file))
    assert result.errors == 0
    assert set(seen) == {("GET", LINES[0], ""), ("GET", LINES[1], ""), ("POST", "/api/resolve", BATCH)}
    assert sum(seen.values()) >= result.requests > 30


def test_a_rate_paces_the_requests(
    recorder: tuple[str, Counter[tuple[str, str, str]]], requests_file: Path
) -> None:
    base, _ = recorder
    result = run_wrk(WrkLoad(threads=1, connections=2, seconds=2).command(base, requests_file, rate=50))
    # 50 a second for 2 s: about 100, where unpaced the same server takes thousands.
    assert 50 <= result.requests <= 150


def test_nginx_answers_gets_and_posts_under_the_prefix_with_the_bytes() -> None:
    body = b'{"responseCode":1,"handle":"88.999.1/PART-00000000","values":[]}'
    with nginx_serving(body, "record.json", free_port(), also_under="/api/") as base:
        assert httpx.get(f"{base}/api/handles/88.999.1/X").content == body
        posted = httpx.post(f"{base}/api/resolve", content=BATCH)
        assert (posted.status_code, posted.content) == (200, body)

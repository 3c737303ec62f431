"""Instructions per request: a deterministic cost measure for the server's hot paths.

Wall-clock benchmarks on a small shared machine move by 2x between runs, so an
optimisation is judged first by how many CPU instructions one request costs in
user space, counted by valgrind's callgrind. Each *cycle* below pushes requests
through the server's real classes in one process -- a Worker, its Connection,
the parser, the application -- with a socketpair (or a loopback listener) in
place of the network. Unlike the rest of otuserver.bench, this module knows the
server's internals: that is its purpose. The count is taken twice, for a few
requests and for many, and the difference divided, so start-up cost cancels out.

    python -m otuserver.bench.instructions            # all cycles (needs valgrind)
    python -m otuserver.bench.instructions --cycles keepalive-wrk api-get
    python -m otuserver.bench.instructions --cpu-time 50  # CPU time instead, 50 alternating rounds

Instructions do not say what a request costs in time: code and data that miss
the caches run slower per instruction. `--cpu-time` measures this process's CPU
time (user + system, so the cycle's own socket calls too) of the same cycles,
after some uncounted requests, in short rounds that alternate them, and prints the median.

The cycles run without valgrind too (`run_cycle`); the tests do that, to keep
them working.
"""

import argparse
import contextlib
import itertools
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from .docroot import SMALL_PATH, small_page
from .scenarios import API_POST_BODY

WRK_REQUEST = b"GET /small.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
AB_KEEPALIVE_REQUEST = (b"GET /small.html HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: 127.0.0.1:8080\r\n"
                        b"User-Agent: ApacheBench/2.3\r\nAccept: */*\r\n\r\n")
AB_CLOSE_REQUEST = (b"GET /small.html HTTP/1.0\r\nHost: 127.0.0.1:8080\r\n"
                    b"User-Agent: ApacheBench/2.3\r\nAccept: */*\r\n\r\n")
API_ROWS = 1000  # as many as the benchmark cycles through (its api_rows)
_POST_BODY = API_POST_BODY.encode()
API_POST_REQUEST = (b"POST /api/scores HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(_POST_BODY), _POST_BODY))

CYCLES = {
    "keepalive-wrk": "wrk's two-line request for the 600-byte file, keep-alive",
    "keepalive-ab": "ab -k's HTTP/1.0 keep-alive request for the 600-byte file",
    "keepalive-new": "wrk's request with a query that changes every time: a head never seen before",
    "api-get": "GET /api/scores/{id} (a SQLite read), keep-alive, ids cycling 1..1000",
    "api-floor": "api-get's requests answered with no framework: the same key lookup and JSON template",
    "api-post": "POST /api/scores with the benchmark's JSON body (a SQLite write), keep-alive",
    "close": "ab's request without keep-alive: accept, parse, answer, close",
}


def _worker(workdir: Path, listener: socket.socket):
    """A real Worker (not booted: no signals, no heartbeat) serving a tiny root and the API."""
    import httpd  # the repository's entry point builds the same app the server runs
    from ..server.worker import Worker

    root = workdir / "root"
    root.mkdir(exist_ok=True)
    (root / SMALL_PATH.lstrip("/")).write_bytes(small_page())
    settings = httpd.read_settings(["-r", str(root), "--db", str(workdir / "scores.sqlite3"),
                                    "--access-log", "off"])
    config = httpd.make_config(settings)
    return Worker(listener, httpd.build_app(config, settings["db"]), config, os.getppid())


def _seed(worker, rows: int) -> None:
    from ..http import Request
    body = json.dumps({"score": 1.5}).encode()
    for _ in range(rows):
        response = worker.app(Request("POST", "/api/scores", "HTTP/1.1",
                                      [("Host", "h"), ("Content-Type", "application/json")], body))
        if response.status != 201:
            raise RuntimeError(f"seeding answered {response.status}")


def _floor_app(workdir: Path):
    """GET /api/scores/{id} with nothing of the framework: what the API read costs at least.

    It does only what the read cannot do without: the id from the path, the
    engine's key lookup and the model's JSON template -- no routing, no service,
    no validation of the id, no 404. Not a product path: api-get minus api-floor
    is what the framework costs a read, and api-floor against keepalive-wrk says
    how close to the small file a read could come with no framework at all.
    """
    from api.models import MODELS, Score
    from ..db import Engine
    from ..web import JSONResponse

    engine = Engine(workdir / "scores.sqlite3", models=MODELS)
    sql, template, start = Score._sql["get"], Score._json_template, len("/api/scores/")

    def floor(request):
        return JSONResponse.encoded(template % engine.lookup(sql, (int(request.path[start:]),)))
    return floor


def run_cycle(name: str, requests: int, workdir: Path) -> list[bytes]:
    """Push `requests` requests of cycle `name` through a fresh worker; the last response is returned
    (with the first), so a caller can check the cycle still does what it says."""
    with _cycle(name, workdir) as push:
        return push(requests)


@contextlib.contextmanager
def _cycle(name: str, workdir: Path) -> Iterator[Callable[[int], list[bytes]]]:
    """A fresh worker made ready for cycle `name`; yields push(count), which sends it count requests."""
    from ..server.connection import Connection

    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    worker = _worker(workdir, listener)
    numbers = itertools.count()  # the request's number in the cycle, across pushes
    seen: list[bytes] = []

    def push_new_connections(count: int) -> list[bytes]:
        for _ in range(count):
            with socket.create_connection(listener.getsockname()) as client:
                client.sendall(AB_CLOSE_REQUEST)
                worker.accept()
                for conn in list(worker.connections.values()):
                    conn.on_event(0)
                seen.append(client.recv(65536))
                del seen[1:-1]
        return seen

    def push(count: int) -> list[bytes]:
        for i in itertools.islice(numbers, count):
            if name in ("api-get", "api-floor"):
                client.sendall(b"GET /api/scores/%d HTTP/1.1\r\nHost: h\r\n\r\n" % (i % API_ROWS + 1))
            elif name == "api-post":
                client.sendall(API_POST_REQUEST)
            elif name == "keepalive-new":
                client.sendall(WRK_REQUEST.replace(b" HTTP/", b"?n=%d HTTP/" % i, 1))
            else:
                client.sendall(WRK_REQUEST if name == "keepalive-wrk" else AB_KEEPALIVE_REQUEST)
            conn.on_event(0)
            seen.append(client.recv(65536))
            del seen[1:-1]
        return seen

    try:
        if name == "close":
            yield push_new_connections
            return
        if name in ("api-get", "api-floor"):
            _seed(worker, API_ROWS)
        if name == "api-floor":
            worker.app = _floor_app(workdir)
        ours, client = socket.socketpair()
        ours.setblocking(False)
        conn = Connection(ours, "127.0.0.1", worker)
        try:
            yield push
        finally:
            client.close()
            conn.close()
    finally:
        listener.close()


def _collected(name: str, requests: int) -> int:
    """Instructions callgrind counted for one child process running `requests` of cycle `name`."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, "-m", "otuserver.bench.instructions", "--child", name, str(requests)]
    # A fixed hash seed: with a random one, dict and set layouts change from run to run,
    # and so does the count, by about 1% (seen here) -- more than a small change saves.
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[2], env=dict(os.environ, PYTHONHASHSEED="0"))
    for line in done.stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1])
    raise RuntimeError(f"callgrind gave no count for {name}:\n{done.stderr[-2000:]}")


def instructions_per_request(name: str, requests: int = 2000, baseline: int = 10) -> int:
    """(count for baseline + requests) - (count for baseline), divided by requests."""
    return (_collected(name, baseline + requests) - _collected(name, baseline)) // requests


def cpu_times(cycles: list[str], rounds: int, requests: int, warmup: int = 200) -> dict[str, list[float]]:
    """Microseconds of this process's CPU time per request, for each cycle in each round.

    Every cycle's worker is made first and kept; then each round pushes `requests`
    through every cycle in turn. Short rounds that alternate the cycles spread a slow
    spell of a shared machine over all of them, instead of over one cycle's whole measure.
    """
    times: dict[str, list[float]] = {name: [] for name in cycles}
    with contextlib.ExitStack() as stack:
        pushes = {}
        for name in cycles:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="otu-cpu-")))
            pushes[name] = stack.enter_context(_cycle(name, workdir))
            pushes[name](warmup)  # first-use costs: imports, caches, the parser's memory of heads
        for _ in range(rounds):
            for name, push in pushes.items():
                before = resource.getrusage(resource.RUSAGE_SELF)
                push(requests)
                after = resource.getrusage(resource.RUSAGE_SELF)
                spent = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                times[name].append(spent / requests * 1e6)
    return times


def _print_cpu_times(cycles: list[str], rounds: int, requests: int) -> None:
    print(f"CPU time (user + system), {rounds} rounds of {requests} requests per cycle, {sys.executable}")
    times = cpu_times(cycles, rounds, requests)
    for name in cycles:
        low, high = min(times[name]), max(times[name])
        print(f"{name:15} {statistics.median(times[name]):>7.1f} µs/request (median; rounds {low:.1f} to {high:.1f})"
              f"   ({CYCLES[name]})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m otuserver.bench.instructions",
                                     description="CPU instructions per request, counted by callgrind; or, "
                                                 "with --cpu-time, CPU time per request.")
    parser.add_argument("--cycles", nargs="+", choices=sorted(CYCLES), default=list(CYCLES))
    parser.add_argument("--requests", type=int, default=2000,
                        help="requests per count, or per round with --cpu-time (default 2000)")
    parser.add_argument("--cpu-time", type=int, metavar="ROUNDS",
                        help="measure CPU time per request in ROUNDS alternating rounds, not instructions")
    parser.add_argument("--child", nargs=2, metavar=("CYCLE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        with tempfile.TemporaryDirectory(prefix="otu-instr-") as workdir:
            run_cycle(args.child[0], int(args.child[1]), Path(workdir))
        return 0
    if args.cpu_time:
        _print_cpu_times(args.cycles, args.cpu_time, args.requests)
        return 0
    python_executable = os.path.realpath(sys.executable)
    if not shutil.which("valgrind"):
        print("valgrind is not installed (apt install valgrind)", file=sys.stderr)
        return 2
    print(f"callgrind, {args.requests} requests per count, {python_executable}")
    for name in args.cycles:
        print(f"{name:15} {instructions_per_request(name, args.requests):>9,} instructions/request"
              f"   ({CYCLES[name]})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

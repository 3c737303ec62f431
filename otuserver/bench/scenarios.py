"""The scenarios of issue 4: each starts its servers, drives the load, and returns its data.

A scenario is a function `(ctx) -> dict` whose dict holds the servers' exact
commands and one record per measured run ({"server", "case", ...} plus run_wrk's
or run_ab's numbers, errors included). Servers compared side by side run at the
same time and are measured in turn, point by point, so that a noisy neighbour
hurts them alike. The scenarios that decide issue 4's targets (side by side,
ab, workers) repeat that in interleaved rounds and keep, per server and case
(and worker count), the run with the median rate (`median_of_rounds`); every
round stays in the data. The
Plan fixes every count and duration, so every load loop is bounded. This
module knows nothing of charts or of the README.
"""

import contextlib
import json
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from . import servers as S
from ..runner import rss_kib, socket_count
from .ab import run_ab
from .client import Client
from .docroot import LARGE_PATH, SMALL_PATH
from .idle import hold_idle_connections
from .wrk import cycle_paths_script, post_json_script, run_wrk

API_GET_PREFIX = "/api/scores/"
API_POST_PATH = "/api/scores"
API_POST_BODY = '{"score": 1.5}'
SLOW_CLIENT_BYTE_INTERVAL_S = 0.1
PRIMER_REQUESTS = 3
ROUND_KEYS = ("round", "rps", "errors_total", "complete", "failed", "non_2xx", "aborted", "split")  # kept per round


@dataclass(frozen=True)
class Plan:
    """Every count and duration of a run. FULL is the reference run; QUICK takes seconds per scenario."""

    quick: bool
    duration_s: int                 # one measured wrk run
    warmup_s: int                   # an unrecorded wrk run before each measured one (0: primer only)
    workers: int                    # our and nginx's worker count in the side-by-side comparisons
    concurrency: int                # connections in the side-by-side comparisons
    sweep: tuple[int, ...]          # connection counts of the concurrency sweep
    worker_sweep: tuple[int, ...]
    worker_sweep_concurrency: int
    ab_requests: int
    ab_concurrency: int
    ab_time_limit_s: int
    ab_socket_timeout_s: int        # ab abandons the whole run when one socket is silent this long
    idle_connections: int
    idle_keepalive_s: int           # servers keep idle connections this long in the idle scenario
    slow_concurrency: int
    api_rows: int                   # rows seeded for GET /api/scores/{id}
    rounds: int                     # interleaved rounds of the side-by-side, ab and worker scenarios


FULL = Plan(quick=False, duration_s=10, warmup_s=2, workers=2, concurrency=50,
            sweep=(1, 2, 4, 8, 16, 32, 64, 128, 256), worker_sweep=(1, 2, 4), worker_sweep_concurrency=64,
            ab_requests=50_000, ab_concurrency=100, ab_time_limit_s=180, ab_socket_timeout_s=10,
            idle_connections=10_000, idle_keepalive_s=300, slow_concurrency=16, api_rows=1000, rounds=5)
QUICK = Plan(quick=True, duration_s=1, warmup_s=0, workers=2, concurrency=50,
             sweep=(1, 16, 64), worker_sweep=(1, 2), worker_sweep_concurrency=64,
             ab_requests=2000, ab_concurrency=100, ab_time_limit_s=20, ab_socket_timeout_s=3,
             idle_connections=500, idle_keepalive_s=120, slow_concurrency=16, api_rows=50, rounds=2)


@dataclass
class Context:
    """What every scenario gets: the plan, the shared document root, a scratch folder, a logger."""

    plan: Plan
    root: Path
    workdir: Path
    say: Callable[[str], None] = print
    _count: int = field(default=0, repr=False)

    def scratch(self, name: str) -> Path:
        """A fresh folder for one server's logs, config or database."""
        self._count += 1
        path = self.workdir / f"{self._count:02d}-{name}"
        path.mkdir(parents=True)
        return path


# -- measuring ------------------------------------------------------------------------------------

def prime(base_url: str, path: str, count: int = PRIMER_REQUESTS) -> int:
    """GET `path` a few times; check each is a 200 and return the body size (raises on anything else)."""
    size = -1
    with Client(base_url) as client:
        for _ in range(count):
            status, _, body = client.request("GET", path)
            if status != 200:
                raise RuntimeError(f"priming {base_url}{path} answered {status}")
            size = len(body)
    return size


def measure(ctx: Context, server: S.BenchServer, case: str, path: str, connections: int,
            script: str = "", headers: tuple[str, ...] = (), **labels) -> dict:
    """Warm up (full runs only), then one recorded wrk run; label it with server and case.

    The record's `split` is how many of wrk's connections each worker held half-way
    through the run, fewest first: a run where one worker served them all is told
    apart from a slow one.
    """
    url = server.base_url + path
    if ctx.plan.warmup_s:
        run_wrk(url, connections, duration_s=ctx.plan.warmup_s, script=script, headers=headers)
    with SplitSampler(server, at_s=ctx.plan.duration_s / 2, expected=connections,
                      patience_s=ctx.plan.duration_s * 0.4) as sampler:
        run = run_wrk(url, connections, duration_s=ctx.plan.duration_s, script=script, headers=headers)
    tag = "".join(f" {k}={v}" for k, v in labels.items())
    ctx.say(f"  {server.name:<18} {case:<10} c={connections:<4}{tag} {run['rps']:>10.1f} req/s "
            f"p99 {run['latency_ms']['p99']:.1f} ms errors {run['errors_total']} split {sampler.split}")
    return {"server": server.name, "case": case, "path": path, **labels, **run, "split": sampler.split}


class SplitSampler:
    """Counts, `at_s` seconds in, the sockets each worker holds beyond those it held at the start.

    If it sees fewer than the `expected` connections (on a loaded machine wrk may still be
    connecting), it looks again every 50 ms for at most `patience_s`, and keeps the last look.
    """

    def __init__(self, server: S.BenchServer, at_s: float, expected: int = 0, patience_s: float = 0.0) -> None:
        self.pids = S.worker_pids(server)
        self.expected, self.patience_s = expected, patience_s
        self.baseline = self._settled_counts()  # the listener, and nothing left from the warm-up
        self.split: list[int] | None = None
        self._timer = threading.Timer(at_s, self._sample)
        self._timer.daemon = True

    def _settled_counts(self, step_s: float = 0.05, within_s: float = 1.0) -> dict[int, int]:
        # A warm-up's connections may still be closing: wait until two looks agree.
        counts, deadline = None, time.monotonic() + within_s
        while time.monotonic() < deadline:
            latest = {pid: socket_count(pid) for pid in self.pids}
            if latest == counts:
                break
            counts = latest
            time.sleep(step_s)
        return counts

    def _sample(self) -> None:
        deadline = time.monotonic() + self.patience_s
        while True:
            self.split = sorted(max(0, socket_count(pid) - self.baseline[pid]) for pid in self.pids)
            if sum(self.split) >= self.expected or time.monotonic() >= deadline:
                return
            time.sleep(0.05)

    def __enter__(self) -> "SplitSampler":
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()
        self._timer.join()


def seed_scores(base_url: str, rows: int) -> None:
    """POST `rows` scores on one keep-alive connection, so that GET /api/scores/1..rows all exist."""
    with Client(base_url) as client:
        for _ in range(rows):
            status, _, _ = client.request("POST", API_POST_PATH, API_POST_BODY.encode(),
                                          [("Content-Type", "application/json")])
            if status != 201:
                raise RuntimeError(f"seeding {API_POST_PATH} answered {status}")


def start_side_by_side(ctx: Context, stack: contextlib.ExitStack, workers: int,
                       with_python: bool = True, **ours_args) -> list[S.BenchServer]:
    """Ours, nginx (when installed) and python -m http.server, all on the same root."""
    started = [stack.enter_context(S.start_ours(ctx.root, workers, ctx.scratch("ours") / "scores.sqlite3",
                                                log_dir=ctx.scratch("ours-log"), **ours_args))]
    if S.nginx_binary():
        started.append(stack.enter_context(S.start_nginx(ctx.root, workers, ctx.scratch("nginx"))))
    if with_python:
        started.append(stack.enter_context(S.start_python_http(ctx.root, ctx.scratch("pyhttp"))))
    for srv in started:
        prime(srv.base_url, SMALL_PATH)
    return started


def median_of_rounds(runs: list[dict]) -> list[dict]:
    """One run per (server, case, workers): the round with the median rate, carrying every round's figures.

    On a shared machine one run can be 20% off; rounds interleaved with the
    reference server's, and the median of them, are far steadier. The median is
    an actual run (the lower middle one for an even count), so its latency and
    errors belong to the same run as its rate. Each kept run gets `rounds`: the
    rate, errors and (for ab) failures of every round, in the order measured,
    so no round's error is hidden by the choice.

    >>> runs = [{"server": "a", "case": "x", "rps": v, "errors_total": 0, "round": i}
    ...         for i, v in enumerate([5.0, 9.0, 7.0])]
    >>> [(r["rps"], [x["rps"] for x in r["rounds"]]) for r in median_of_rounds(runs)]
    [(7.0, [5.0, 9.0, 7.0])]
    """
    groups: dict[tuple, list[dict]] = {}
    for run in runs:
        groups.setdefault((run["server"], run["case"], run.get("workers")), []).append(run)
    kept = []
    for group in groups.values():
        ranked = sorted(group, key=lambda r: -1.0 if r["rps"] is None else r["rps"])
        median = dict(ranked[(len(ranked) - 1) // 2])
        median["rounds"] = [{k: r[k] for k in ROUND_KEYS if k in r} for r in group]
        kept.append(median)
    return kept


def _result(title: str, what: str, ctx: Context, started: list[S.BenchServer], runs: list, **extra) -> dict:
    return {"title": title, "what": what, "plan": asdict(ctx.plan),
            "servers": [srv.describe() for srv in started], "runs": runs, **extra}


# -- the scenarios --------------------------------------------------------------------------------

def reference(ctx: Context) -> dict:
    """Small file, large file, JSON GET and POST: ours against nginx and http.server, same run."""
    plan = ctx.plan
    with contextlib.ExitStack() as stack:
        started = start_side_by_side(ctx, stack, plan.workers)
        ours = started[0]
        seed_scores(ours.base_url, plan.api_rows)
        cases = [("small", SMALL_PATH, ""), ("large", LARGE_PATH, ""),
                 ("api_get", API_GET_PREFIX + "1", cycle_paths_script(API_GET_PREFIX, plan.api_rows)),
                 ("api_post", API_POST_PATH, post_json_script(API_POST_BODY))]
        runs = []
        for round_ in range(plan.rounds):
            for case, path, script in cases:
                for srv in _in_round(started, round_):
                    if case.startswith("api") and srv is not ours:
                        continue            # the API is ours alone
                    runs.append(measure(ctx, srv, case, path, plan.concurrency, script, round=round_))
    return _result("Side by side: small file, large file, JSON API",
                   f"wrk keep-alive, {plan.concurrency} connections, {plan.duration_s} s per run; "
                   f"{_rounds_text(plan)}; "
                   f"small = {SMALL_PATH} (600 B), large = {LARGE_PATH} (954 KB), api_get cycles "
                   f"GET {API_GET_PREFIX}1..{plan.api_rows}, api_post POSTs {API_POST_BODY}",
                   ctx, started, median_of_rounds(runs), all_rounds=runs)


def _in_round(started: list[S.BenchServer], round_: int) -> list[S.BenchServer]:
    """Ours and nginx every round; python -m http.server, a point of comparison only, in the first."""
    return [srv for srv in started if round_ == 0 or srv.name in ("ours", "nginx")]


def _rounds_text(plan: Plan, with_python: bool = True) -> str:
    if plan.rounds == 1:
        return "one round"
    text = f"{plan.rounds} interleaved rounds, the median round shown"
    return text + " (python -m http.server: first round only)" if with_python else text


def ab_classic(ctx: Context) -> dict:
    """`ab -n N -c 100 -r` on / with and without -k, each server in turn."""
    plan = ctx.plan
    runs = []
    with contextlib.ExitStack() as stack:
        started = start_side_by_side(ctx, stack, plan.workers)
        for round_ in range(plan.rounds):
            for keepalive in (False, True):
                for srv in _in_round(started, round_):
                    run = run_ab(srv.base_url + "/", plan.ab_requests, plan.ab_concurrency, keepalive,
                                 plan.ab_time_limit_s, plan.ab_socket_timeout_s)
                    ctx.say(f"  {srv.name:<18} ab{' -k' if keepalive else '   '} {run['rps'] or 0:>10.1f} "
                            f"req/s complete {run['complete']} failed {run['failed']} non-2xx "
                            f"{run['non_2xx']} {run['aborted']}")
                    runs.append({"server": srv.name, "case": "ab_keepalive" if keepalive else "ab",
                                 "round": round_, **run})
    return _result(f"ab -n {plan.ab_requests} -c {plan.ab_concurrency} -r on /",
                   "ApacheBench's own report; -k adds keep-alive; each run bounded by -t "
                   f"{plan.ab_time_limit_s}; ab gives up on a run when a socket is silent for "
                   f"-s {plan.ab_socket_timeout_s} s; {_rounds_text(plan)}", ctx, started,
                   median_of_rounds(runs), all_rounds=runs)


def concurrency_sweep(ctx: Context) -> dict:
    """The small file at each connection count, ours and nginx alternating."""
    plan = ctx.plan
    runs = []
    with contextlib.ExitStack() as stack:
        started = start_side_by_side(ctx, stack, plan.workers, with_python=False)
        for connections in plan.sweep:
            for srv in started:
                runs.append(measure(ctx, srv, "small", SMALL_PATH, connections))
    return _result("Concurrency sweep", f"wrk keep-alive on {SMALL_PATH}, {plan.workers} workers, "
                   f"threads = min(connections, cores)", ctx, started, runs)


def worker_sweep(ctx: Context) -> dict:
    """The small file with 1, 2, 4 workers (ours and nginx), every count in every round.

    A pair of servers per count, all started first; each round then measures every
    count in turn, so a slow spell of the machine falls on all of them, not on one
    count's only run (run 12 measured 1 -> 2 workers at 0.91x, run 13 at 1.14x, on
    the same code). Idle, the servers not measured cost next to nothing.
    """
    plan = ctx.plan
    runs = []
    with contextlib.ExitStack() as stack:
        pairs = {workers: start_side_by_side(ctx, stack, workers, with_python=False)
                 for workers in plan.worker_sweep}
        for round_ in range(plan.rounds):
            for workers, started in pairs.items():
                for srv in started:
                    runs.append(measure(ctx, srv, "small", SMALL_PATH, plan.worker_sweep_concurrency,
                                        workers=workers, round=round_))
    result = _result("Worker sweep", f"wrk keep-alive on {SMALL_PATH}, {plan.worker_sweep_concurrency} "
                     f"connections; {_rounds_text(plan, with_python=False)}", ctx, [],
                     median_of_rounds(runs), all_rounds=runs)
    result["servers"] = [srv.describe() for started in pairs.values() for srv in started]
    return result


class RssSampler:
    """Samples the VmRSS of some pids every interval in a thread; keeps each one's maximum."""

    def __init__(self, pids: list[int], interval_s: float = 0.2) -> None:
        self.pids, self.interval_s = pids, interval_s
        self.max_kib = {pid: rss_kib(pid) for pid in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            for pid in self.pids:
                self.max_kib[pid] = max(self.max_kib[pid], rss_kib(pid))

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


def _idle_one(ctx: Context, srv: S.BenchServer) -> dict:
    plan = ctx.plan
    host, port = srv.base_url.removeprefix("http://").rsplit(":", 1)
    pids = S.worker_pids(srv)
    before = {pid: rss_kib(pid) for pid in pids}
    baseline = measure(ctx, srv, "baseline", SMALL_PATH, plan.concurrency)
    with hold_idle_connections(host, int(port), plan.idle_connections, SMALL_PATH) as idle:
        ctx.say(f"  {srv.name:<18} holding {idle['open']} idle connections ({idle['failed']} failed, "
                f"{idle['setup_s']} s to open)")
        held = {pid: (rss_kib(pid), socket_count(pid)) for pid in pids}
        with RssSampler(pids) as sampler:
            loaded = measure(ctx, srv, "with_idle", SMALL_PATH, plan.concurrency)
    workers = [{"pid": pid, "rss_kib_before": before[pid], "rss_kib_idle": held[pid][0],
                "sockets_idle": held[pid][1], "rss_kib_max_serving": sampler.max_kib[pid]} for pid in pids]
    ctx.say(f"  {srv.name:<18} still open at the end: {idle.get('still_open')}; worker RSS max "
            f"{max(w['rss_kib_max_serving'] for w in workers) / 1024:.1f} MiB")
    return {"server": srv.name, "idle": idle, "workers": workers, "runs": [baseline, loaded]}


def idle_connections(ctx: Context) -> dict:
    """N idle keep-alive connections held open while wrk measures the others; RSS per worker."""
    plan = ctx.plan
    S.raise_nofile_limit()
    results, described = [], []
    starters = [lambda: S.start_ours(ctx.root, plan.workers, ctx.scratch("ours") / "scores.sqlite3",
                                     ["--keepalive-timeout", str(plan.idle_keepalive_s)],
                                     log_dir=ctx.scratch("ours-log"))]
    if S.nginx_binary():
        starters.append(lambda: S.start_nginx(ctx.root, plan.workers, ctx.scratch("nginx"),
                                              keepalive_timeout_s=plan.idle_keepalive_s))
    for start in starters:
        with start() as srv:
            prime(srv.base_url, SMALL_PATH)
            described.append(srv.describe())
            results.append(_idle_one(ctx, srv))
    runs = [run for r in results for run in r["runs"]]
    result = _result(f"{plan.idle_connections:,} idle keep-alive connections held while serving",
                     f"A helper process opens {plan.idle_connections:,} connections, makes one keep-alive "
                     f"request on each and leaves them idle; wrk then measures {SMALL_PATH} with "
                     f"{plan.concurrency} more connections; RSS is VmRSS of each worker",
                     ctx, [], runs, per_server=[{k: v for k, v in r.items() if k != "runs"} for r in results])
    result["servers"] = described
    return result


class SlowClient:
    """One client that sends its request head a byte at a time until told to finish.

    That is all a blocking server needs to stop serving everyone else: it sits in recv() for it.
    """

    def __init__(self, base_url: str, path: str, max_s: float) -> None:
        host, port = base_url.removeprefix("http://").rsplit(":", 1)
        self.address, self.path, self.max_s = (host, int(port)), path, max_s
        self.finish = threading.Event()
        self.outcome = "not started"
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with socket.create_connection(self.address, timeout=10) as sock:
                sock.sendall(f"GET {self.path} HTTP/1.1\r\nHost: bench\r\nX-Slow: ".encode())
                deadline = time.monotonic() + self.max_s
                while not self.finish.wait(SLOW_CLIENT_BYTE_INTERVAL_S) and time.monotonic() < deadline:
                    sock.sendall(b"a")
                sock.sendall(b"\r\nConnection: close\r\n\r\n")
                status = sock.recv(64).split(b"\r\n", 1)[0].decode("latin-1")
                self.outcome = f"answered: {status}" if status else "closed without an answer"
        except OSError as error:
            self.outcome = f"error: {error}"

    def __enter__(self) -> "SlowClient":
        self._thread.start()
        time.sleep(0.3)                 # let the server accept it before the measured clients come
        return self

    def __exit__(self, *exc_info) -> None:
        self.finish.set()
        self._thread.join(15)


def slow_client(ctx: Context) -> dict:
    """Throughput for the other clients while one client trickles its request: blocking vs epoll."""
    plan = ctx.plan
    runs, described = [], []
    header = ("Connection: close",)     # the blocking server closes after each answer; so must the others
    starters = [lambda: S.start_blocking(ctx.root, ctx.scratch("blocking")),
                lambda: S.start_ours(ctx.root, 1, ctx.scratch("ours") / "scores.sqlite3",
                                     log_dir=ctx.scratch("ours-log")),
                lambda: S.start_python_http(ctx.root, ctx.scratch("pyhttp"))]
    for start in starters:
        with start() as srv:
            prime(srv.base_url, SMALL_PATH)
            described.append(srv.describe())
            runs.append(measure(ctx, srv, "alone", SMALL_PATH, plan.slow_concurrency, headers=header))
            with SlowClient(srv.base_url, SMALL_PATH, plan.duration_s + plan.warmup_s + 20) as slow:
                run = measure(ctx, srv, "one_slow", SMALL_PATH, plan.slow_concurrency, headers=header)
            run["slow_client"] = slow.outcome
            runs.append(run)
    result = _result("One slow client: blocking vs epoll",
                     f"wrk ({plan.slow_concurrency} connections, Connection: close) on {SMALL_PATH}, first "
                     "alone, then while one more client sends its request head one byte every "
                     f"{SLOW_CLIENT_BYTE_INTERVAL_S} s; blocking = one process, one thread (blocking.py); "
                     "ours = 1 worker (one epoll loop); python-http.server = a thread per connection",
                     ctx, [], runs)
    result["servers"] = described
    return result


SCENARIOS: dict[str, Callable[[Context], dict]] = {
    "reference": reference,
    "ab": ab_classic,
    "concurrency": concurrency_sweep,
    "workers": worker_sweep,
    "idle": idle_connections,
    "slow_client": slow_client,
}


def save(data: dict, path: Path) -> None:
    """Write one scenario's data as sorted, indented JSON."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")

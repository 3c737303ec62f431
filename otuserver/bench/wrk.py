"""Run wrk and return its numbers as a dict.

This module owns the wrk command line and the Lua scripts under lua/: every run
appends lua/report.lua, whose done() hook prints one JSON line, so the numbers
never come from wrk's human-readable text. It knows nothing of which server is
being measured; a run that cannot start wrk raises BenchToolError, while errors
the *server* causes (connect, read, write, non-2xx, timeout) are data.
"""

import json
import os
import subprocess
import tempfile
from pathlib import Path

LUA_DIR = Path(__file__).with_name("lua")
RESULT_PREFIX = "OTU_BENCH_RESULT "
WRK_TIMEOUT_S = 5               # wrk's per-request timeout; a slower answer counts as an error
EXTRA_WALL_S = 30               # how long past its duration a wrk run may take before we kill it
ERROR_KINDS = ("connect", "read", "write", "status", "timeout")


class BenchToolError(RuntimeError):
    """wrk or ab could not run, or printed nothing we can read."""


def lua(name: str) -> str:
    """The text of one of the package's Lua scripts, e.g. lua("report")."""
    return (LUA_DIR / f"{name}.lua").read_text()


def _lua_string(text: str) -> str:
    return json.dumps(text)        # a JSON string literal is a valid Lua string literal for ASCII text


def post_json_script(body: str) -> str:
    """A wrk script that POSTs `body` as application/json on every request."""
    return f"BODY = {_lua_string(body)}\n" + lua("post_json")


def cycle_paths_script(prefix: str, count: int) -> str:
    """A wrk script that GETs prefix1, prefix2, ... prefix<count>, then starts again.

    >>> cycle_paths_script("/api/scores/", 3).splitlines()[:2]
    ['PREFIX = "/api/scores/"', 'COUNT = 3']
    """
    return f"PREFIX = {_lua_string(prefix)}\nCOUNT = {int(count)}\n" + lua("cycle_paths")


def default_threads(connections: int) -> int:
    """NOTEBOOKS.md: threads = min(connections, cores)."""
    return max(1, min(connections, os.cpu_count() or 1))


def run_wrk(url: str, connections: int, threads: int | None = None, duration_s: int = 10,
            script: str = "", headers: tuple[str, ...] = (),
            timeout_s: int = WRK_TIMEOUT_S) -> dict:
    """One keep-alive wrk run against `url`; `script` is extra Lua run before the reporter.

    Returns {"tool": "wrk", "url", "connections", "threads", "duration_s", "requests", "rps",
    "bytes", "errors": {connect, read, write, status, timeout}, "errors_total",
    "latency_ms": {"min", "mean", "max", "p50", "p75", "p90", "p99", "p99.9", "p99.99"}, "command"}.
    """
    threads = threads or default_threads(connections)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="otu-wrk-", delete=False) as f:
        f.write(script + "\n" + lua("report"))
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(duration_s)}s",
               "--timeout", f"{int(timeout_s)}s", "--latency", "-s", f.name]
    for header in headers:
        command += ["-H", header]
    command.append(url)
    try:
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=duration_s + timeout_s + EXTRA_WALL_S)
    except FileNotFoundError:
        raise BenchToolError("wrk is not installed") from None
    except subprocess.TimeoutExpired:
        raise BenchToolError(f"wrk did not finish: {' '.join(command)}") from None
    finally:
        os.unlink(f.name)
    raw = parse_wrk_output(done.stdout, done.stderr)
    shown = [c if c != f.name else "report.lua" for c in command]
    return _summarise(raw, url, connections, threads, duration_s, shown)


def parse_wrk_output(stdout: str, stderr: str = "") -> dict:
    """The JSON object report.lua printed, found by its prefix.

    >>> parse_wrk_output('Running 1s test\\nOTU_BENCH_RESULT {"requests": 3}\\n')
    {'requests': 3}
    """
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    raise BenchToolError(f"wrk printed no result line:\n{stdout}\n{stderr}")


def _summarise(raw: dict, url: str, connections: int, threads: int, duration_s: int,
               command: list[str]) -> dict:
    latency = raw["latency_us"]
    ms = {key: latency[key] / 1000 for key in ("min", "mean", "max")}
    ms.update({f"p{p}": v / 1000 for p, v in latency["percentiles"].items()})
    seconds = raw["duration_us"] / 1e6
    return {
        "tool": "wrk", "url": url, "connections": connections, "threads": threads,
        "duration_s": duration_s, "elapsed_s": round(seconds, 3),
        "requests": int(raw["requests"]), "bytes": int(raw["bytes"]),
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "errors": {kind: int(raw["errors"][kind]) for kind in ERROR_KINDS},
        "errors_total": int(sum(raw["errors"][kind] for kind in ERROR_KINDS)),
        "latency_ms": ms, "command": command,
    }


def wrk_version() -> str:
    """wrk's first line of `wrk -v`, e.g. 'wrk debian/4.1.0-3+b2 [epoll] ...', or '' if absent."""
    try:
        done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return ""
    text = (done.stdout + done.stderr).strip()
    return text.splitlines()[0].split(" Copyright")[0] if text else ""

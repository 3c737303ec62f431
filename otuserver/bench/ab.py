"""Run ApacheBench (ab) and read its report into a dict.

The task names the classic `ab -n 50000 -c 100 -r` run, so the numbers here are
ab's own: complete and failed requests (with ab's breakdown), non-2xx responses,
requests per second and the "served within" percentiles. This module knows
nothing of which server it measures; it raises BenchToolError only when ab
itself cannot run or prints no report.
"""

import re
import subprocess

from .wrk import BenchToolError, EXTRA_WALL_S

AB_SOCKET_TIMEOUT_S = 10        # ab -s: one connection silent this long makes ab abandon the whole run

_NUMBERS = {
    "complete": r"Complete requests:\s+(\d+)",
    "failed": r"Failed requests:\s+(\d+)",
    "non_2xx": r"Non-2xx responses:\s+(\d+)",
    "keepalive_requests": r"Keep-Alive requests:\s+(\d+)",
    "rps": r"Requests per second:\s+([\d.]+)",
    "elapsed_s": r"Time taken for tests:\s+([\d.]+) seconds",
    "document_bytes": r"Document Length:\s+(\d+) bytes",
}
_FAILED_KINDS = r"\(Connect: (\d+), Receive: (\d+), Length: (\d+), Exceptions: (\d+)\)"
_PERCENTILE = re.compile(r"^\s+(\d+)%\s+(\d+)", re.MULTILINE)
# ab gives up on the whole run (no report) when one socket stays silent past -s; it prints this instead.
_ABORTED = re.compile(r"Total of (\d+) requests completed")


def parse_ab_report(text: str) -> dict:
    """ab's report as numbers; a line ab left out (Non-2xx when there were none) reads as 0.

    >>> report = '''Complete requests:      200
    ... Failed requests:        3
    ...    (Connect: 0, Receive: 1, Length: 2, Exceptions: 0)
    ... Requests per second:    13889.85 [#/sec] (mean)
    ...   50%      4
    ...  100%     19 (longest request)'''
    >>> r = parse_ab_report(report)
    >>> r["complete"], r["failed"], r["failed_by_kind"]["length"], r["non_2xx"], r["latency_ms"]["p100"]
    (200, 3, 2, 0, 19.0)
    """
    if not re.search(_NUMBERS["complete"], text):
        return _aborted_report(text)
    result: dict = {"aborted": ""}
    for key, pattern in _NUMBERS.items():
        found = re.search(pattern, text)
        value = float(found.group(1)) if found else 0.0
        result[key] = value if key in ("rps", "elapsed_s") else int(value)
    kinds = re.search(_FAILED_KINDS, text)
    counts = [int(n) for n in kinds.groups()] if kinds else [0, 0, 0, 0]
    result["failed_by_kind"] = dict(zip(("connect", "receive", "length", "exceptions"), counts))
    result["latency_ms"] = {f"p{p}": float(ms) for p, ms in _PERCENTILE.findall(text)}
    return result


def _aborted_report(text: str) -> dict:
    """What is known of a run ab abandoned: how many completed, and why it stopped.

    >>> r = _aborted_report("Total of 1966 requests completed\\napr_pollset_poll: timeout (70007)")
    >>> r["complete"], r["rps"], r["aborted"]
    (1966, None, 'apr_pollset_poll: timeout (70007)')
    """
    found = _ABORTED.search(text)
    if not found:
        raise BenchToolError(f"ab printed no report:\n{text[-2000:]}")
    last = [line for line in text.strip().splitlines() if line.strip()][-1]
    return {"aborted": last.strip(), "complete": int(found.group(1)), "failed": 0, "non_2xx": 0,
            "keepalive_requests": 0, "rps": None, "elapsed_s": None, "document_bytes": 0,
            "failed_by_kind": {"connect": 0, "receive": 0, "length": 0, "exceptions": 0}, "latency_ms": {}}


def run_ab(url: str, requests: int, concurrency: int, keepalive: bool = False,
           time_limit_s: int = 300, socket_timeout_s: int = AB_SOCKET_TIMEOUT_S) -> dict:
    """`ab -n requests -c concurrency -r [-k]` against `url`, bounded by `time_limit_s`.

    Returns parse_ab_report()'s dict (with "aborted" set to ab's last words and "rps" None when
    ab abandoned the run, "unfinished" counting the requests it never completed) plus "tool", "url", "requests", "concurrency",
    "keepalive", "exit_code", "stderr_tail" (e.g. apr_socket_recv messages) and "command".
    """
    # -t before -n: -t alone implies -n 50000, and the later -n wins (ab's own option order).
    command = ["ab", "-t", str(int(time_limit_s)), "-n", str(int(requests)), "-c", str(int(concurrency)),
               "-r", "-s", str(int(socket_timeout_s))]
    if keepalive:
        command.append("-k")
    command.append(url)
    try:
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=time_limit_s + EXTRA_WALL_S)
    except FileNotFoundError:
        raise BenchToolError("ab is not installed (apt: apache2-utils)") from None
    except subprocess.TimeoutExpired:
        raise BenchToolError(f"ab did not finish: {' '.join(command)}") from None
    result = parse_ab_report(done.stdout + "\n" + done.stderr)
    result.update({
        "tool": "ab", "url": url, "requests": int(requests), "concurrency": int(concurrency),
        "keepalive": keepalive, "exit_code": done.returncode,
        "stderr_tail": done.stderr.strip().splitlines()[-3:], "command": command,
    })
    # A run ab abandoned counts its never-finished requests as errors too.
    result["unfinished"] = int(requests) - result["complete"] if result["aborted"] else 0
    result["errors_total"] = result["failed"] + result["non_2xx"] + result["unfinished"]
    return result


def ab_version() -> str:
    """ab's version line, e.g. 'ApacheBench, Version 2.3 <$Revision$>', or '' if absent."""
    try:
        done = subprocess.run(["ab", "-V"], capture_output=True, text=True, timeout=10)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return ""
    first = done.stdout.strip().splitlines()
    return first[0].replace("This is ", "") if first else ""

"""reports/README.md, generated from the scenario data: targets, tables, figures and caveats.

evaluate_targets() checks issue 4's speed targets against the numbers of one run
(ratios against nginx are always taken from the same scenario run); render()
turns the data into Markdown. Every table has an errors column. It knows nothing
of how the numbers were measured beyond the data's keys, and draws no figures.
"""

import json

from .charts import FIGURES

IDLE_TARGET_CONNECTIONS = 10_000
IDLE_TARGET_RSS_MB = 50
SMALL_VS_NGINX = 1.0
LARGE_VS_NGINX = 0.9
AB_VS_NGINX = 0.8
API_VS_SMALL = 0.5
WORKER_STEP_GAIN = 1.1          # "grows with workers": each step up to the core count gains at least 10%

CAVEATS = """\
- **One small shared machine.** Client (wrk, ab) and servers share the same cores over loopback, so the
  load generator competes with the server it measures; on a 2-core machine a `-t2` wrk takes a large share
  of the CPU. Figures are relative: compare servers within one run, not across machines or runs.
- **Loopback.** No network latency, no packet loss, an MTU of 64 KiB: real networks are slower and
  burstier, and favour servers that keep many connections cheaply.
- **Closed-loop load.** wrk and ab wait for each answer before sending the next request on a connection,
  so when a server stalls, fewer requests are sent and the stall is counted once (coordinated omission):
  the high percentiles understate what an open-loop client would see.
- **The 954 KB file** moves gigabytes per second over loopback, and wrk must read every byte on the same cores:
  that rate is bounded by the client's copying as much as by the server, so a ratio near 1 there says
  little about the server.
- **One request, repeated.** wrk and ab send the same head again and again, and our parser answers a head
  it has seen before from memory instead of parsing it (otuserver/http/parser.py, `_Seen`). The small-file
  and ab figures measure that path; a client whose every head is new costs about 1.3x as many
  instructions per request (`python -m otuserver.bench.instructions`: keepalive-new against keepalive-wrk).
- **Short runs, few rounds.** Where a scenario's description names rounds (the side-by-side, ab and
  worker scenarios, which decide five of the six targets), ours and nginx ran in interleaved rounds and the
  median round is shown, with every round's figure beside it; the concurrency sweep and the idle-connection
  run, which decides the sixth, are one run per point. Rounds on a shared machine
  differ by 10-30%, so differences of a few percent are noise, and a ratio near a target can fall on either
  side of it in another run.
- **python -m http.server** speaks HTTP/1.0 (a new connection per request, even under wrk's keep-alive)
  and logs every request to stderr, which the harness sends to a file; it has no switch to turn that off.
"""


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing or b is zero.

    >>> ratio(30, 60), ratio(1, 0)
    (0.5, None)
    """
    return a / b if a is not None and b else None


def fmt_ratio(value: float | None) -> str:
    """'1.23×' or 'n/a'."""
    return "n/a" if value is None else f"{value:.2f}×"


def _run(data: dict | None, server: str, case: str, **labels) -> dict | None:
    for run in (data or {}).get("runs", []):
        if run["server"] == server and run["case"] == case and all(run.get(k) == v for k, v in labels.items()):
            return run
    return None


def _rps(run: dict | None) -> float | None:
    return run["rps"] if run else None


def _target(text: str, measured: str, met: bool | None) -> dict:
    return {"target": text, "measured": measured, "met": met}


def _round_rates(run: dict | None) -> dict:
    """{round: req/s} of every round a (median) run stands for; a one-round run is round 0."""
    if run is None:
        return {}
    return {r.get("round", 0): r["rps"] for r in run.get("rounds", [run])}


def round_ratios(a: dict | None, b: dict | None) -> list[float | None]:
    """a / b round by round, for the rounds both ran (each pair measured minutes apart at most).

    >>> round_ratios({"rps": 6, "rounds": [{"round": 0, "rps": 6}, {"round": 1, "rps": 4}]},
    ...              {"rps": 8, "rounds": [{"round": 0, "rps": 12}, {"round": 1, "rps": 8}]})
    [0.5, 0.5]
    """
    rates_a, rates_b = _round_rates(a), _round_rates(b)
    return [ratio(rates_a[k], rates_b[k]) for k in sorted(rates_a) if k in rates_b]


def _by_round(ratios: list[float | None]) -> str:
    return " · ".join(fmt_ratio(r) for r in ratios) if len(ratios) > 1 else ""


def _measured_ratio(r: float, a: dict, b: dict) -> str:
    """'0.93× (32,562 vs 34,879 req/s; medians of 3 rounds, by round ...)' for a target's row."""
    text = f"{fmt_ratio(r)} ({a['rps']:,.0f} vs {b['rps']:,.0f} req/s"
    by_round = round_ratios(a, b)
    if len(by_round) > 1:
        text += f"; medians of {len(by_round)} rounds, by round {_by_round(by_round)}"
    return text + ")"


def _vs_nginx(data: dict | None, case: str, floor: float, text: str) -> dict:
    ours, nginx = _run(data, "ours", case), _run(data, "nginx", case)
    r = ratio(_rps(ours), _rps(nginx))
    if r is None:
        return _target(text, "not measured (nginx or the run is missing)", None)
    return _target(text, _measured_ratio(r, ours, nginx), r >= floor)


def _all_rounds_clean(run: dict) -> bool:
    """No round of this run had an error, a failed request or an abandoned ab."""
    return all(not r.get("errors_total") and not r.get("aborted") for r in run.get("rounds", [run]))


def _ab_target(data: dict | None) -> dict:
    text = f"`ab -c 100 -r` on /: 0 failed and ≥ {AB_VS_NGINX}× nginx"
    ours, nginx = _run(data, "ours", "ab"), _run(data, "nginx", "ab")
    if not ours or not nginx:
        return _target(text, "not measured", None)
    r = ratio(ours["rps"], nginx["rps"])
    rounds = ours.get("rounds", [ours])
    measured = (f"{sum(x['complete'] for x in rounds)} complete, {sum(x['failed'] for x in rounds)} failed, "
                f"{sum(x['non_2xx'] for x in rounds)} non-2xx in {len(rounds)} round(s); ")
    measured += _measured_ratio(r, ours, nginx) if r is not None else "n/a"
    if any(x.get("aborted") for x in rounds):
        measured += "; ab gave up in a round: " + "; ".join(x["aborted"] for x in rounds if x.get("aborted"))
    return _target(text, measured, _all_rounds_clean(ours) and r is not None and r >= AB_VS_NGINX)


def _api_target(data: dict | None) -> dict:
    text = f"GET /api/scores/{{id}}: ≥ {API_VS_SMALL}× our own small-file rate"
    api, small = _run(data, "ours", "api_get"), _run(data, "ours", "small")
    r = ratio(_rps(api), _rps(small))
    if r is None:
        return _target(text, "not measured", None)
    return _target(text, _measured_ratio(r, api, small), r >= API_VS_SMALL)


def _idle_target(data: dict | None) -> dict:
    text = (f"{IDLE_TARGET_CONNECTIONS:,} idle keep-alive connections held, "
            f"< {IDLE_TARGET_RSS_MB} MB RSS per worker while serving")
    ours = next((s for s in (data or {}).get("per_server", []) if s["server"] == "ours"), None)
    if ours is None:
        return _target(text, "not measured", None)
    idle = ours["idle"]
    peak_mb = max(w["rss_kib_max_serving"] for w in ours["workers"]) * 1024 / 1e6
    measured = (f"{idle['open']:,} of {idle['requested']:,} opened, {idle.get('still_open', 0):,} still open "
                f"at the end; peak worker RSS {peak_mb:.1f} MB")
    if idle["requested"] < IDLE_TARGET_CONNECTIONS:
        return _target(text, measured + f" (a quick run: only {idle['requested']:,} requested)", None)
    met = idle.get("still_open", 0) >= IDLE_TARGET_CONNECTIONS and peak_mb < IDLE_TARGET_RSS_MB
    return _target(text, measured, met)


def _workers_target(data: dict | None, cores: int) -> dict:
    text = f"throughput grows with workers up to the core count ({cores}): each step ≥ {WORKER_STEP_GAIN}×"
    runs = sorted((r for r in (data or {}).get("runs", []) if r["server"] == "ours"), key=lambda r: r["workers"])
    steps = [r for r in runs if r["workers"] <= cores]
    if len(steps) < 2:
        return _target(text, "not measured", None)
    gains = [ratio(b["rps"], a["rps"]) for a, b in zip(steps, steps[1:])]
    measured = ", ".join(f"{a['workers']}→{b['workers']}: {fmt_ratio(g)}{_step_rounds(b, a)}"
                         for a, b, g in zip(steps, steps[1:], gains))
    return _target(text, measured, all(g is not None and g >= WORKER_STEP_GAIN for g in gains))


def _step_rounds(more: dict, fewer: dict) -> str:
    """' (medians of 5 rounds, by round ...)' for a worker step measured in rounds, else ''."""
    by_round = round_ratios(more, fewer)
    return f" (medians of {len(by_round)} rounds, by round {_by_round(by_round)})" if len(by_round) > 1 else ""


def evaluate_targets(data: dict[str, dict]) -> list[dict]:
    """Issue 4's targets, each {"target", "measured", "met": True | False | None (not measured)}."""
    reference = data.get("reference")
    cores = (reference or next(iter(data.values()), {})).get("environment", {}).get("cores") or 1
    return [
        _vs_nginx(reference, "small", SMALL_VS_NGINX, f"small file, keep-alive: ≥ {SMALL_VS_NGINX}× nginx"),
        _vs_nginx(reference, "large", LARGE_VS_NGINX, f"954 KB file: ≥ {LARGE_VS_NGINX}× nginx"),
        _ab_target(data.get("ab")),
        _api_target(reference),
        _idle_target(data.get("idle")),
        _workers_target(data.get("workers"), cores),
    ]


# -- Markdown -------------------------------------------------------------------------------------

def table(header: list[str], rows: list[list]) -> str:
    """A Markdown table.

    >>> print(table(["a", "b"], [[1, "x"]]))
    | a | b |
    |---|---|
    | 1 | x |
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _num(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _errors(run: dict | None) -> str:
    """wrk's errors as connect/read/write/status/timeout, or ab's failed (and non-2xx)."""
    if run is None:
        return "n/a"
    if run["tool"] == "ab":
        aborted = f", ab gave up: {run['aborted']} ({run['unfinished']} unfinished)" if run["aborted"] else ""
        return f"{run['failed']} failed, {run['non_2xx']} non-2xx{aborted}{_other_rounds_errors(run)}"
    e = run["errors"]
    text = "0" if not run["errors_total"] else "/".join(str(e[k]) for k in ("connect", "read", "write", "status", "timeout"))
    return text + _other_rounds_errors(run)


def fmt_split(run: dict | None) -> str:
    """How wrk's connections were spread over the workers, round by round ('n/a' if not counted).

    >>> fmt_split({"split": [24, 26], "rounds": [{"split": [0, 50]}, {"split": [24, 26]}]})
    '0/50 · 24/26'
    """
    if run is None:
        return "n/a"
    splits = [r.get("split") for r in run.get("rounds", [run])]
    return " · ".join("/".join(map(str, s)) if s else "n/a" for s in splits)


def _other_rounds_errors(run: dict) -> str:
    """' (+N in other rounds)' when a round not shown had errors: the median must not hide them."""
    others = sum(r.get("errors_total") or 0 for r in run.get("rounds", [])) - (run.get("errors_total") or 0)
    return f" (+{others} in other rounds)" if others else ""


ERRORS_NOTE = ("Errors: 0, or wrk's connect/read/write/status/timeout counts; "
               "ab's failed requests and non-2xx responses.")


def _figure_links(scenario: str) -> str:
    names = [name for name, (source, _) in FIGURES.items() if source == scenario]
    return "\n".join(f"![{name}](figures/{name})" for name in names)


def _section_reference(d: dict) -> str:
    servers = list(dict.fromkeys(r["server"] for r in d["runs"]))
    rows = []
    for case in dict.fromkeys(r["case"] for r in d["runs"]):
        runs = [_run(d, s, case) for s in servers]
        nginx = _run(d, "nginx", case)
        rows.append([case, *[_num(_rps(r)) for r in runs], fmt_ratio(ratio(_rps(runs[0]), _rps(nginx))),
                     _by_round(round_ratios(runs[0], nginx)) or "n/a",
                     *[_num(r["latency_ms"]["p99"], 1) if r else "n/a" for r in runs],
                     " · ".join(_errors(r) for r in runs), fmt_split(runs[0]), fmt_split(nginx)])
    header = ["case", *[f"{s} req/s" for s in servers], "ours / nginx", "ours / nginx by round",
              *[f"{s} p99 ms" for s in servers], "errors (" + " · ".join(servers) + ")",
              "ours: connections per worker, by round", "nginx: connections per worker, by round"]
    return table(header, rows)


def _section_ab(d: dict) -> str:
    rows = []
    for run in d["runs"]:
        nginx = _run(d, "nginx", run["case"])
        rows.append([run["case"].replace("_", " "), run["server"], _num(run["rps"]),
                     " · ".join(_num(v) for v in _round_rates(run).values()),
                     fmt_ratio(ratio(run["rps"], _rps(nginx))), run["complete"], run["failed"],
                     run["non_2xx"], _num(run["latency_ms"].get("p50")), _num(run["latency_ms"].get("p99")),
                     (f"ab gave up: {run['aborted']}" if run["aborted"] else "") + _other_rounds_errors(run)])
    return table(["run", "server", "req/s", "req/s by round", "vs nginx", "complete", "failed", "non-2xx",
                  "p50 ms", "p99 ms", "note"], rows)


def _section_concurrency(d: dict) -> str:
    rows = []
    for c in dict.fromkeys(r["connections"] for r in d["runs"]):
        ours, nginx = _run(d, "ours", "small", connections=c), _run(d, "nginx", "small", connections=c)
        rows.append([c, _num(_rps(ours)), _num(_rps(nginx)), fmt_ratio(ratio(_rps(ours), _rps(nginx))),
                     *[f"{_num(r['latency_ms']['p50'], 2)} / {_num(r['latency_ms']['p99'], 2)}" if r else "n/a"
                       for r in (ours, nginx)], f"{_errors(ours)} · {_errors(nginx)}"])
    return table(["connections", "ours req/s", "nginx req/s", "ours / nginx", "ours p50 / p99 ms",
                  "nginx p50 / p99 ms", "errors (ours · nginx)"], rows)


def _section_workers(d: dict) -> str:
    rows = []
    one = {s: _run(d, s, "small", workers=1) for s in ("ours", "nginx")}
    for w in dict.fromkeys(r["workers"] for r in d["runs"]):
        ours, nginx = _run(d, "ours", "small", workers=w), _run(d, "nginx", "small", workers=w)
        rows.append([w, _num(_rps(ours)), _num(_rps(nginx)), fmt_ratio(ratio(_rps(ours), _rps(nginx))),
                     fmt_ratio(ratio(_rps(ours), _rps(one["ours"]))),
                     _by_round(round_ratios(ours, one["ours"])) or "n/a",
                     fmt_ratio(ratio(_rps(nginx), _rps(one["nginx"]))),
                     f"{_errors(ours)} · {_errors(nginx)}", fmt_split(ours), fmt_split(nginx)])
    return table(["workers", "ours req/s", "nginx req/s", "ours / nginx", "ours vs 1 worker",
                  "ours vs 1 worker by round", "nginx vs 1 worker", "errors (ours · nginx)",
                  "ours: connections per worker, by round", "nginx: connections per worker, by round"], rows)


def _mib(kib: int) -> str:
    return f"{kib / 1024:.1f}"


def _section_idle(d: dict) -> str:
    rows = []
    for s in d.get("per_server", []):
        before, loaded = _run(d, s["server"], "baseline"), _run(d, s["server"], "with_idle")
        idle = s["idle"]
        grown_kib = sum(w["rss_kib_idle"] - w["rss_kib_before"] for w in s["workers"])
        per_conn = f"{grown_kib / idle['open']:.1f}" if idle["open"] else "n/a"
        rows.append([s["server"], f"{idle['open']:,} / {idle['requested']:,}", f"{idle.get('still_open', 0):,}",
                     _num(_rps(before)), _num(_rps(loaded)),
                     " · ".join(f"{_mib(w['rss_kib_before'])} → {_mib(w['rss_kib_idle'])} → "
                                f"{_mib(w['rss_kib_max_serving'])}" for w in s["workers"]),
                     per_conn, " · ".join(str(w["sockets_idle"]) for w in s["workers"]),
                     f"{_errors(before)} · {_errors(loaded)}"])
    return table(["server", "idle opened / requested", "still open at end", "req/s before", "req/s with idle",
                  "RSS per worker MiB: before → idle → max serving", "KiB per idle connection",
                  "sockets per worker", "errors (before · with idle)"], rows)


def _section_slow(d: dict) -> str:
    rows = []
    for server in dict.fromkeys(r["server"] for r in d["runs"]):
        alone, slow = _run(d, server, "alone"), _run(d, server, "one_slow")
        rows.append([server, _num(_rps(alone)), _num(_rps(slow)), fmt_ratio(ratio(_rps(slow), _rps(alone))),
                     slow.get("slow_client", "n/a") if slow else "n/a", f"{_errors(alone)} · {_errors(slow)}"])
    return table(["server", "req/s alone", "req/s with one slow client", "with / alone",
                  "the slow client", "errors (alone · with)"], rows)


SECTIONS = [
    ("reference", _section_reference),
    ("ab", _section_ab),
    ("concurrency", _section_concurrency),
    ("workers", _section_workers),
    ("idle", _section_idle),
    ("slow_client", _section_slow),
]

SLOW_CLIENT_EXPLAINED = """\
What this measures: how much one misbehaving client costs everyone else. The blocking server (one
process, one thread, `otuserver/bench/blocking.py`) sits in `recv()` for the slow client's request and
serves nobody meanwhile, so the others' rate drops to about zero until the slow client finishes. Our
server with a single worker runs one epoll loop: the slow connection is just one more registered socket,
so the others' rate should not move. `python -m http.server` avoids the stall with a thread per connection.
It does not measure a slow *handler* (CPU-bound work inside a request): that blocks any one-threaded loop,
epoll included.
"""


ENV_KEYS = ["date", "git_commit", "cores", "cpu_model", "loadavg_at_start", "kernel", "python", "wrk", "ab", "nginx"]


def _environment(data: dict[str, dict]) -> str:
    """The environment table; when the scenarios come from separate runs, one column per distinct run."""
    envs = list({json.dumps(d["environment"], sort_keys=True): d["environment"] for d in data.values()}.values())
    header = [""] + (["value"] if len(envs) == 1 else [", ".join(n for n, d in data.items() if d["environment"] == e)
                                                       for e in envs])
    text = table(header, [[k, *[f"`{e.get(k, '')}`" for e in envs]] for k in ENV_KEYS])
    if len(envs) > 1:
        text = ("**The scenarios below come from separate runs** (`--only`); ratios are still taken within "
                "one scenario's run.\n\n" + text)
    return text


def _servers(data: dict[str, dict]) -> str:
    seen: dict[str, dict] = {}
    for scenario in data.values():
        for srv in scenario.get("servers", []):
            seen.setdefault(f"{srv['name']}, workers: {srv['workers']}", srv)
    rows = [[name, f"`{' '.join(srv['command'])}`", srv.get("notes", "")] for name, srv in seen.items()]
    return table(["server", "command (first seen)", "notes"], rows)


def render(data: dict[str, dict], command: str, history: str = "") -> str:
    """The whole README for the scenarios in `data` (keyed by scenario name).

    `history`, if given, is hand-written Markdown (reports/HISTORY.md) on what each
    optimisation bought; it is included as it is, after the caveats.
    """
    env = next(iter(data.values()))["environment"] if data else {}
    mark = {True: "met", False: "**not met**", None: "not measured"}
    parts = [
        "# OTUServer benchmark report",
        "",
        f"Generated by `{command}` from `data/*.json`; do not edit by hand.",
        "",
    ]
    if env.get("quick"):
        parts += ["> **Quick run** (about a second per scenario, fewer sweep points): it checks that the harness",
                  "> works; its numbers are not a reference.", ""]
    parts += ["## Targets of issue 4", "", "Ratios are taken against nginx measured in the same run.", "",
              table(["target", "measured", "status"],
                    [[t["target"], t["measured"], mark[t["met"]]] for t in evaluate_targets(data)]), ""]
    for name, section in SECTIONS:
        if name not in data:
            continue
        d = data[name]
        what = d["what"]
        figures = _figure_links(name)
        parts += [f"## {d['title']}", "", what + ".", ""] + ([figures, ""] if figures else [])
        parts += [section(d), "", ERRORS_NOTE, ""]
        if name == "slow_client":
            parts += [SLOW_CLIENT_EXPLAINED]
    parts += ["## Caveats", "", CAVEATS]
    if history.strip():
        parts += [history.strip(), ""]
    parts += ["## Environment", "", _environment(data), "", "## Servers", "", _servers(data), ""]
    return "\n".join(parts)

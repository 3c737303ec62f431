"""Rounds: which run the report shows, and that no round's error or failure is hidden by that choice.

Pure functions over hand-made run records; no server, no load tool.
"""

from otuserver.bench.report import _ab_target, _errors, _vs_nginx, _workers_target
from otuserver.bench.scenarios import median_of_rounds

WRK_ERRORS = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}


def wrk_run(server: str, rps: float, round_: int, errors: int = 0) -> dict:
    return {"tool": "wrk", "server": server, "case": "small", "rps": rps, "round": round_,
            "errors": {**WRK_ERRORS, "read": errors}, "errors_total": errors}


def ab_run(server: str, rps: float | None, round_: int, failed: int = 0, aborted: str = "") -> dict:
    return {"tool": "ab", "server": server, "case": "ab", "rps": rps, "round": round_, "complete": 100,
            "failed": failed, "non_2xx": 0, "aborted": aborted, "unfinished": 0, "errors_total": failed}


def test_the_median_round_is_kept_and_lower_middle_for_an_even_count():
    three = median_of_rounds([wrk_run("ours", v, i) for i, v in enumerate([30.0, 10.0, 20.0])])
    assert [(r["rps"], r["round"]) for r in three] == [(20.0, 2)]
    four = median_of_rounds([wrk_run("ours", v, i) for i, v in enumerate([40.0, 10.0, 30.0, 20.0])])
    assert four[0]["rps"] == 20.0
    assert [r["rps"] for r in four[0]["rounds"]] == [40.0, 10.0, 30.0, 20.0]


def test_a_round_without_a_rate_ranks_lowest_and_servers_stay_apart():
    kept = median_of_rounds([ab_run("ours", None, 0, aborted="gave up"), ab_run("ours", 5.0, 1),
                             ab_run("ours", 7.0, 2), ab_run("nginx", 9.0, 0)])
    by_server = {r["server"]: r for r in kept}
    assert by_server["ours"]["rps"] == 5.0 and len(by_server["ours"]["rounds"]) == 3
    assert by_server["nginx"]["rps"] == 9.0 and len(by_server["nginx"]["rounds"]) == 1


def test_errors_of_a_round_not_shown_are_still_reported():
    kept = median_of_rounds([wrk_run("ours", 10.0, 0, errors=4), wrk_run("ours", 20.0, 1),
                             wrk_run("ours", 30.0, 2)])[0]
    assert kept["errors_total"] == 0
    assert _errors(kept) == "0 (+4 in other rounds)"


def test_the_ab_target_fails_when_any_round_failed_a_request_even_if_the_median_did_not():
    runs = median_of_rounds([ab_run("ours", 10.0, 0, failed=1), ab_run("ours", 20.0, 1), ab_run("ours", 30.0, 2),
                             ab_run("nginx", 20.0, 0), ab_run("nginx", 20.0, 1), ab_run("nginx", 20.0, 2)])
    target = _ab_target({"runs": runs})
    assert target["met"] is False
    assert "1 failed" in target["measured"] and "by round 0.50× · 1.00× · 1.50×" in target["measured"]
    clean = median_of_rounds([ab_run("ours", 20.0, i) for i in range(3)] + [ab_run("nginx", 20.0, i) for i in range(3)])
    assert _ab_target({"runs": clean})["met"] is True


def test_a_target_ratio_is_the_ratio_of_the_median_rounds():
    runs = median_of_rounds([wrk_run("ours", v, i) for i, v in enumerate([8.0, 9.0, 10.0])]
                            + [wrk_run("nginx", v, i) for i, v in enumerate([10.0, 10.0, 12.0])])
    target = _vs_nginx({"runs": runs}, "small", 0.9, "small")
    assert target["measured"].startswith("0.90× (9 vs 10 req/s; medians of 3 rounds")
    assert target["met"] is True


def test_each_worker_count_keeps_its_own_median_and_a_step_names_its_rounds():
    runs = median_of_rounds([{**wrk_run("ours", v, i), "workers": 1} for i, v in enumerate([10.0, 12.0, 11.0])]
                            + [{**wrk_run("ours", v, i), "workers": 2} for i, v in enumerate([13.0, 11.0, 15.0])])
    assert sorted((r["workers"], r["rps"]) for r in runs) == [(1, 11.0), (2, 13.0)]
    target = _workers_target({"runs": runs}, cores=2)
    assert target["measured"] == "1→2: 1.18× (medians of 3 rounds, by round 1.30× · 0.92× · 1.36×)"
    assert target["met"] is True

"""The benchmark harness end to end, in quick mode, into a temporary folder.

One quick run (all scenarios, about a second each) feeds every test here; the
tests check that each output exists and is well formed -- data keys, errors on
every run, decodable figures, README tables -- and never how fast anything was.
wrk, ab and nginx are required: a missing one skips here, and fails under CI=true.
"""

import json
import shutil
import struct
from pathlib import Path

import pytest

from otuserver.bench import cli, charts
from otuserver.bench.scenarios import SCENARIOS
from otuserver.bench.servers import nginx_binary
from otuserver.runner import REPO_ROOT
from tests.conftest import require, require_tool

pytestmark = pytest.mark.slow

ENV_KEYS = {"date", "git_commit", "cores", "cpu_model", "python", "wrk", "ab", "nginx", "quick"}
WRK_KEYS = {"server", "case", "url", "connections", "threads", "duration_s", "requests", "rps", "bytes",
            "errors", "errors_total", "latency_ms", "command"}
AB_KEYS = {"server", "case", "complete", "failed", "non_2xx", "rps", "errors_total", "latency_ms", "aborted"}
WRK_ERRORS = {"connect", "read", "write", "status", "timeout"}
PERCENTILES = {"p50", "p90", "p99", "p99.9"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _listing(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*")} if folder.exists() else {}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, httptest_source):
    """Run every scenario in quick mode into a temporary folder; yield (folder, data, committed before)."""
    require_tool("wrk")
    require_tool("ab")
    require(nginx_binary() is not None, "nginx is not installed (apt: nginx-light)")
    committed_before = _listing(REPO_ROOT / "reports")
    out = tmp_path_factory.mktemp("reports")
    data = cli.run(out, quick=True, say=lambda text: None, keep=_kept(out))
    return out, data, committed_before


def _kept(out: Path) -> Path:
    return out.with_name(out.name + "-kept")


def _runs(data: dict):
    for name, scenario in data.items():
        for run in scenario["runs"]:
            yield name, run


def test_every_scenario_writes_a_data_file_with_the_environment_block(quick_run):
    out, data, _ = quick_run
    assert sorted(data) == sorted(SCENARIOS)
    for name in SCENARIOS:
        saved = json.loads((out / "data" / f"{name}.json").read_text())
        assert saved["scenario"] == name
        assert ENV_KEYS <= set(saved["environment"]), name
        assert saved["environment"]["quick"] is True
        assert saved["environment"]["cores"] >= 1
        assert saved["servers"] and all(srv["command"] for srv in saved["servers"]), name
        assert saved["runs"], name


def test_every_run_records_its_numbers_and_its_errors(quick_run):
    _, data, _ = quick_run
    for name, run in _runs(data):
        keys = AB_KEYS if run["tool"] == "ab" else WRK_KEYS
        assert keys <= set(run), (name, run.get("server"), keys - set(run))
        assert isinstance(run["errors_total"], int)
        if run["tool"] == "wrk":
            assert set(run["errors"]) == WRK_ERRORS
            assert PERCENTILES <= set(run["latency_ms"])
            assert run["requests"] >= 0 and run["rps"] >= 0


def test_wrk_runs_count_how_the_connections_were_spread_over_the_workers(quick_run):
    _, data, _ = quick_run
    for run in data["reference"]["all_rounds"]:
        if run["server"] in ("ours", "nginx"):  # http.server is one process: nothing to spread
            split = run["split"]
            assert split == sorted(split) and len(split) == data["reference"]["plan"]["workers"], run
            assert sum(split) == run["connections"], run  # every wrk connection, sampled mid-run
    for run in data["workers"]["runs"]:
        assert len(run["split"]) == run["workers"], run


def test_side_by_side_scenarios_measure_nginx_and_http_server_in_the_same_run(quick_run):
    _, data, _ = quick_run
    servers = {run["server"] for run in data["reference"]["runs"]}
    assert servers == {"ours", "nginx", "python-http.server"}
    assert {run["case"] for run in data["reference"]["runs"]} == {"small", "large", "api_get", "api_post"}
    assert {run["server"] for run in data["concurrency"]["runs"]} == {"ours", "nginx"}
    assert {run["server"] for run in data["slow_client"]["runs"]} == {"blocking", "ours", "python-http.server"}


def test_the_servers_under_test_answer_the_measured_requests(quick_run):
    """Not a speed check: a server that answered nothing but errors would make every figure a lie."""
    _, data, _ = quick_run
    for case in ("small", "large", "api_get", "api_post"):
        ours = next(r for r in data["reference"]["runs"] if r["server"] == "ours" and r["case"] == case)
        assert ours["requests"] > 0, case
    nginx_ab = next(r for r in data["ab"]["runs"] if r["server"] == "nginx" and r["case"] == "ab")
    assert nginx_ab["complete"] > 0


def test_target_scenarios_keep_the_median_round_and_every_round(quick_run):
    """ours and nginx run in every round; the run shown is one of them, and no round is dropped."""
    _, data, _ = quick_run
    for name in ("reference", "ab", "workers"):
        rounds = data[name]["plan"]["rounds"]
        assert rounds >= 2, "the quick plan must exercise rounds"
        every = data[name]["all_rounds"]
        for run in data[name]["runs"]:
            key = (run["server"], run["case"], run.get("workers"))
            measured = [r for r in every if (r["server"], r["case"], r.get("workers")) == key]
            expected = rounds if run["server"] in ("ours", "nginx") else 1
            assert len(run["rounds"]) == len(measured) == expected, (name, run["server"], run["case"])
            assert [r["rps"] for r in run["rounds"]] == [r["rps"] for r in measured]
            assert run["round"] in [r["round"] for r in measured]


def test_idle_scenario_reports_rss_and_sockets_per_worker(quick_run):
    _, data, _ = quick_run
    per_server = {entry["server"]: entry for entry in data["idle"]["per_server"]}
    assert set(per_server) == {"ours", "nginx"}
    for name, entry in per_server.items():
        assert entry["idle"]["requested"] > 0 and "still_open" in entry["idle"], name
        assert len(entry["workers"]) == 2, name
        for worker in entry["workers"]:
            assert worker["rss_kib_max_serving"] > 0 and worker["sockets_idle"] >= 0


def test_every_figure_is_a_decodable_png_of_the_fixed_size(quick_run):
    out, _, _ = quick_run
    import matplotlib.image
    for name in charts.FIGURES:
        path = out / "figures" / name
        raw = path.read_bytes()
        assert raw.startswith(PNG_SIGNATURE), name
        width, height = struct.unpack(">II", raw[16:24])
        assert (width, height) == (int(charts.SIZE_IN[0] * charts.DPI), int(charts.SIZE_IN[1] * charts.DPI))
        pixels = matplotlib.image.imread(path)
        assert pixels.std() > 0.05, f"{name} looks blank"
        assert b"Software" not in raw, name


def test_figures_are_byte_identical_when_redrawn_from_the_same_data(quick_run, tmp_path):
    out, _, _ = quick_run
    shutil.copytree(out / "data", tmp_path / "data")
    cli.render(tmp_path)
    for name in charts.FIGURES:
        assert (tmp_path / "figures" / name).read_bytes() == (out / "figures" / name).read_bytes(), name


def test_readme_states_targets_tables_figures_and_caveats(quick_run):
    out, data, _ = quick_run
    readme = (out / "README.md").read_text()
    assert "## Targets of issue 4" in readme
    for target in ("small file, keep-alive", "954 KB file", "`ab -c 100 -r`", "GET /api/scores/{id}",
                   "idle keep-alive connections", "grows with workers"):
        assert target in readme, target
    for scenario in data.values():
        assert f"## {scenario['title']}" in readme
    assert readme.count("| ours / nginx |") + readme.count("| vs nginx |") >= 4
    assert readme.count("\n|---|") >= len(SCENARIOS) + 3       # a table per scenario, targets, env, servers
    for name in charts.FIGURES:
        assert f"](figures/{name})" in readme
    assert "## Caveats" in readme and "closed-loop" in readme.lower() and "loopback" in readme.lower()
    assert "Quick run" in readme


def test_a_run_asked_to_keep_its_scratch_keeps_our_servers_logs(quick_run):
    out, _, _ = quick_run
    logs = sorted(_kept(out).glob("work/*-ours-log/httpd.*"))
    assert logs, f"no server log kept under {_kept(out)}"
    assert any("listening on http://127.0.0.1:" in log.read_text() for log in logs)


def test_a_kept_scratch_folder_is_never_reused(tmp_path):
    (tmp_path / "kept").mkdir()
    with pytest.raises(FileExistsError):
        cli.run(tmp_path / "out", quick=True, only=["idle"], say=lambda text: None, keep=tmp_path / "kept")


def test_a_quick_run_never_touches_the_committed_reports(quick_run):
    _, _, committed_before = quick_run
    assert _listing(REPO_ROOT / "reports") == committed_before


def test_the_quick_plan_can_be_chosen_by_environment_variable(monkeypatch):
    monkeypatch.setenv(cli.QUICK_ENV, "1")
    assert cli.quick_from_env()
    monkeypatch.setenv(cli.QUICK_ENV, "")
    assert not cli.quick_from_env()

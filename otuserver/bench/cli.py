"""`python -m otuserver.bench`: run the scenarios, then write data, figures and README.

It owns the order of the run and the output layout (OUT/data/<scenario>.json,
OUT/figures/*.png, OUT/README.md); the scenarios, charts and report modules do
the work. run() and render() are the API the notebooks call. The default OUT is
the repository's reports/; tests and notebooks pass a temporary folder.
"""

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from ..runner import REPO_ROOT
from . import charts, report
from .docroot import build_docroot
from .env import environment
from .scenarios import FULL, QUICK, SCENARIOS, Context, Plan, save
from .servers import nginx_binary, raise_nofile_limit

QUICK_ENV = "OTU_BENCH_QUICK"
DEFAULT_OUT = REPO_ROOT / "reports"
REQUIRED_TOOLS = ("wrk", "ab")


def quick_from_env() -> bool:
    """True when $OTU_BENCH_QUICK asks for the quick plan (1, true, yes)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in ("1", "true", "yes")


def missing_tools() -> list[str]:
    """The load generators and reference servers that are not installed."""
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    return missing + ([] if nginx_binary() else ["nginx"])


def run(out: str | os.PathLike = DEFAULT_OUT, quick: bool = False, only: list[str] | None = None,
        say: Callable[[str], None] = print, command: str = "python -m otuserver.bench",
        keep: str | os.PathLike | None = None) -> dict[str, dict]:
    """Run the scenarios (all, or `only`) and write OUT/data, OUT/figures and OUT/README.md.

    The servers' logs, configs and databases go to a temporary folder that is
    removed afterwards, or to `keep`, which is left for a post-mortem (a failed
    request in a run can only be explained from the server's log).
    Returns the data of every scenario now in OUT/data, keyed by scenario name.
    """
    out = Path(out)
    (out / "data").mkdir(parents=True, exist_ok=True)
    plan: Plan = QUICK if quick else FULL
    names = only or list(SCENARIOS)
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        raise ValueError(f"unknown scenarios {unknown}; choose from {list(SCENARIOS)}")
    raise_nofile_limit()
    env = environment(quick)
    with _scratch_folder(keep) as tmp:
        ctx = Context(plan, build_docroot(Path(tmp)), Path(tmp) / "work", say)
        for name in names:
            say(f"{name}:")
            started = time.monotonic()
            data = SCENARIOS[name](ctx)
            data.update(scenario=name, environment=env, wall_s=round(time.monotonic() - started, 1))
            save(data, out / "data" / f"{name}.json")
    return render(out, command)


def _scratch_folder(keep: str | os.PathLike | None):
    if keep is None:
        return tempfile.TemporaryDirectory(prefix="otu-bench-")
    folder = Path(keep)
    folder.mkdir(parents=True, exist_ok=False)  # an earlier run's logs must not mix in
    return contextlib.nullcontext(str(folder))


def load(out: str | os.PathLike) -> dict[str, dict]:
    """Every scenario's data in OUT/data, in the order of SCENARIOS."""
    folder = Path(out) / "data"
    return {name: json.loads((folder / f"{name}.json").read_text())
            for name in SCENARIOS if (folder / f"{name}.json").is_file()}


def render(out: str | os.PathLike, command: str = "python -m otuserver.bench") -> dict[str, dict]:
    """(Re)draw OUT/figures and OUT/README.md from OUT/data, without running anything."""
    out = Path(out)
    data = load(out)
    charts.draw_all(data, out / "figures")
    # HISTORY.md, when there is one, is written by people: what each optimisation bought.
    history = out / "HISTORY.md"
    notes = history.read_text() if history.is_file() else ""
    (out / "README.md").write_text(report.render(data, command, history=notes))
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m otuserver.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"about a second per scenario, fewer sweep points (also ${QUICK_ENV}=1)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: the repository's reports/)")
    parser.add_argument("--only", help=f"comma-separated scenarios of {','.join(SCENARIOS)}")
    parser.add_argument("--render-only", action="store_true", help="redraw figures and README from OUT/data")
    parser.add_argument("--keep", metavar="DIR", help="keep the servers' logs and configs in DIR (a new folder)")
    args = parser.parse_args(argv)
    # A TERM (a CI timeout, an impatient operator) unwinds like Ctrl-C, so every
    # server this run started is stopped by its context manager, not orphaned.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    quick = args.quick or quick_from_env()
    command = "python -m otuserver.bench" + (" --quick" if quick else "") + (
        f" --only {args.only}" if args.only else "")
    if args.render_only:
        render(args.out, command)
        return 0
    missing = missing_tools()
    if set(missing) & set(REQUIRED_TOOLS):
        print(f"missing: {', '.join(missing)} (apt: wrk apache2-utils nginx-light)", file=sys.stderr)
        return 2
    if missing:
        print("nginx is not installed: the report will have no nginx column", file=sys.stderr)
    say = lambda text: print(text, file=sys.stderr, flush=True)     # noqa: E731 (progress goes to stderr)
    run(args.out, quick, args.only.split(",") if args.only else None, say, command, keep=args.keep)
    print(Path(args.out) / "README.md")
    return 0

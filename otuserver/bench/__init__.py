"""otuserver.bench: the load-test harness behind reports/ and the lessons' benchmark cells.

It starts our server and the reference servers (nginx, python -m http.server, a
blocking teaching server) on loopback, drives them with wrk and ab, and turns the
numbers into reports/data/*.json, reports/figures/*.png and reports/README.md.
It must not know the server's internals: it talks to httpd.py over HTTP only.
(The one exception is instructions.py, which counts the CPU instructions a request
costs by driving the server's own classes in-process under callgrind.)

    from otuserver.bench import run_wrk, start_nginx
    with start_nginx("/srv/www", workers=2) as nginx:
        print(run_wrk(nginx.base_url + "/", connections=50, duration_s=2)["rps"])

Run everything with `python -m otuserver.bench [--quick] [--out reports/]`, or from Python with
run_benchmarks(out, quick=True) and render_reports(out) (these import matplotlib when called).
"""

from .ab import parse_ab_report, run_ab
from .docroot import build_docroot
from .env import environment
from ..runner import rss_kib
from .servers import (BenchServer, start_blocking, start_nginx, start_ours, start_python_http,
                      worker_pids)
from .wrk import BenchToolError, run_wrk



def run_benchmarks(out, quick: bool = False, only: list[str] | None = None, say=print) -> dict:
    """Run the scenarios into `out` (data, figures, README); see cli.run."""
    from .cli import run
    return run(out, quick, only, say)


def render_reports(out) -> dict:
    """Redraw `out`'s figures and README from its data; see cli.render."""
    from .cli import render
    return render(out)


__all__ = ["render_reports", "run_benchmarks", "BenchServer", "BenchToolError", "build_docroot", "environment", "parse_ab_report", "rss_kib",
           "run_ab", "run_wrk", "start_blocking", "start_nginx", "start_ours", "start_python_http",
           "worker_pids"]

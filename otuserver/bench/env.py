"""The environment block every data file carries: when, where and with what a run was made.

Date, git commit, cores, CPU model, load average, kernel, Python, and the wrk, ab
and nginx versions. The exact command line of each server is recorded by the
scenario that started it (BenchServer.describe()). It knows nothing of scenarios.
"""

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

from ..runner import REPO_ROOT
from .ab import ab_version
from .servers import nginx_version
from .wrk import wrk_version


def git_commit() -> str:
    """The checked-out commit, with '-dirty' if tracked files differ from it."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=REPO_ROOT, timeout=10)
        return done.stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return commit + ("-dirty" if dirty else "")


def cpu_model() -> str:
    """The 'model name' line of /proc/cpuinfo (or platform.processor())."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def environment(quick: bool = False) -> dict:
    """The environment block; `quick` marks a shortened run whose numbers are not a reference."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "cores": os.cpu_count(),
        "cpu_model": cpu_model(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "wrk": wrk_version(),
        "ab": ab_version(),
        "nginx": nginx_version(),
        "quick": quick,
    }

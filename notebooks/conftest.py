"""pytest hooks for running the lessons under nbval (see ../shared/NOTEBOOKS.md).

Two things only: stderr is never compared (servers and warnings write there, and
it is not part of what a lesson shows), and the sanitize file is found from the
repository root even when pytest is started from another directory.
"""

from pathlib import Path


def pytest_collectstart(collector):
    """nbval's documented recipe: add "stderr" to every notebook's skip_compare."""
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare = tuple(collector.skip_compare) + ("stderr",)
        option = collector.config.option
        sanitize = getattr(option, "nbval_sanitize_with", None)
        if sanitize and not Path(sanitize).is_absolute() and not Path(sanitize).exists():
            option.nbval_sanitize_with = str(collector.config.rootpath / sanitize)

"""The report's figures, drawn from scenario data with matplotlib's Agg canvas.

One function per figure, each `(data, path) -> None`. Figures are built with the
object API (Figure + FigureCanvasAgg, never pyplot), so a notebook's backend and
global figure list are untouched. Size, dpi and fonts are fixed and the PNG is
saved without a Software stamp, so identical data gives identical bytes. Every
figure carries the errors of the runs it shows. It knows nothing of wrk or servers.
"""

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

SIZE_IN = (8.0, 4.8)
DPI = 100
COLOURS = {"ours": "#1f77b4", "nginx": "#2ca02c", "python-http.server": "#ff7f0e", "blocking": "#d62728"}
STYLE = {"font.family": "DejaVu Sans", "font.size": 9}
SPECTRUM_PERCENTILES = ("p50", "p75", "p90", "p99", "p99.9", "p99.99")


def _figure() -> Figure:
    fig = Figure(figsize=SIZE_IN, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> None:
    # metadata={"Software": None}: no matplotlib version stamp, so the bytes depend on the data only.
    fig.savefig(path, dpi=DPI, format="png", metadata={"Software": None})


def _colour(server: str) -> str:
    return COLOURS.get(server, "#7f7f7f")


def _servers(runs: list[dict]) -> list[str]:
    """Server names in order of first appearance."""
    return list(dict.fromkeys(run["server"] for run in runs))


def errors_line(runs: list[dict]) -> str:
    """One line naming the errors of every server in these runs, for a figure's footer.

    >>> errors_line([{"server": "ours", "errors_total": 0}, {"server": "nginx", "errors_total": 3}])
    'errors in these runs: ours 0, nginx 3'
    """
    totals = {name: 0 for name in _servers(runs)}
    for run in runs:
        totals[run["server"]] += run.get("errors_total", 0)
    return "errors in these runs: " + ", ".join(f"{name} {count}" for name, count in totals.items())


def _footer(fig: Figure, runs: list[dict]) -> None:
    # supxlabel, not fig.text: constrained layout makes room for it below the axis labels.
    fig.supxlabel(errors_line(runs), x=0.01, ha="left", fontsize=8, color="#444444")


def _connections_axis(ax, runs: list[dict]) -> None:
    """A log2 x axis labelled with the measured connection counts as plain numbers."""
    counts = sorted({r["connections"] for r in runs})
    ax.set_xscale("log", base=2)
    ax.set_xticks(counts, [str(c) for c in counts])
    ax.minorticks_off()


def _with_style(draw):
    """Run a drawing function under the fixed fonts, whatever the caller's rcParams are."""
    def wrapper(*args, **kwargs):
        from matplotlib import rc_context
        with rc_context(STYLE):
            return draw(*args, **kwargs)
    wrapper.__doc__, wrapper.__name__ = draw.__doc__, draw.__name__
    return wrapper


@_with_style
def throughput_vs_concurrency(data: dict, path: Path) -> None:
    """Requests per second against connections, one line per server (log x axis)."""
    fig = _figure()
    ax = fig.add_subplot()
    for name in _servers(data["runs"]):
        runs = [r for r in data["runs"] if r["server"] == name]
        ax.plot([r["connections"] for r in runs], [r["rps"] for r in runs], "o-", color=_colour(name), label=name)
    _connections_axis(ax, data["runs"])
    ax.set(xlabel="concurrent connections", ylabel="requests per second", title=data["title"] + ": throughput")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    _footer(fig, data["runs"])
    _save(fig, path)


@_with_style
def latency_vs_concurrency(data: dict, path: Path) -> None:
    """p50 (solid) and p99 (dashed) latency against connections, one colour per server."""
    fig = _figure()
    ax = fig.add_subplot()
    for name in _servers(data["runs"]):
        runs = [r for r in data["runs"] if r["server"] == name]
        xs = [r["connections"] for r in runs]
        ax.plot(xs, [r["latency_ms"]["p50"] for r in runs], "o-", color=_colour(name), label=f"{name} p50")
        ax.plot(xs, [r["latency_ms"]["p99"] for r in runs], "s--", color=_colour(name), label=f"{name} p99")
    ax.set_yscale("log")
    _connections_axis(ax, data["runs"])
    ax.set(xlabel="concurrent connections", ylabel="latency, ms (log)", title=data["title"] + ": latency")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    _footer(fig, data["runs"])
    _save(fig, path)


@_with_style
def latency_spectrum(data: dict, path: Path, case: str = "small") -> None:
    """Latency at each percentile for one case of the side-by-side run, one line per server."""
    runs = [r for r in data["runs"] if r["case"] == case]
    fig = _figure()
    ax = fig.add_subplot()
    positions = range(len(SPECTRUM_PERCENTILES))
    for run in runs:
        ax.plot(positions, [run["latency_ms"][p] for p in SPECTRUM_PERCENTILES], "o-",
                color=_colour(run["server"]), label=run["server"])
    ax.set_xticks(list(positions), [p.removeprefix("p") + "%" for p in SPECTRUM_PERCENTILES])
    ax.set_yscale("log")
    connections = runs[0]["connections"] if runs else 0
    ax.set(xlabel="percentile", ylabel="latency, ms (log)",
           title=f"Latency spectrum, {case} file, {connections} connections (wrk, closed loop)")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    _footer(fig, runs)
    _save(fig, path)


@_with_style
def throughput_vs_workers(data: dict, path: Path) -> None:
    """Requests per second against workers, with each server's ideal-linear line from its 1-worker rate."""
    fig = _figure()
    ax = fig.add_subplot()
    for name in _servers(data["runs"]):
        runs = sorted((r for r in data["runs"] if r["server"] == name), key=lambda r: r["workers"])
        xs = [r["workers"] for r in runs]
        ax.plot(xs, [r["rps"] for r in runs], "o-", color=_colour(name), label=name)
        if runs and runs[0]["workers"] == 1:
            ax.plot(xs, [runs[0]["rps"] * x for x in xs], ":", color=_colour(name), label=f"{name} ideal linear")
    ax.set(xlabel="workers", ylabel="requests per second", title=data["title"])
    ax.set_xticks(sorted({r["workers"] for r in data["runs"]}))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    _footer(fig, data["runs"])
    _save(fig, path)


def _grouped_bars(ax, groups: list[str], series: list[str], value, colour=None, labels=None) -> None:
    """Bars per group, one per series; a missing value is labelled n/a instead of drawn as zero."""
    colour, labels = colour or _colour, labels or {}
    width = 0.8 / max(1, len(series))
    for i, name in enumerate(series):
        for g, group in enumerate(groups):
            x = g + (i - (len(series) - 1) / 2) * width
            v = value(name, group)
            if v is None:
                ax.text(x, 0.02, "n/a", ha="center", va="bottom", fontsize=7, color=colour(name),
                        transform=ax.get_xaxis_transform())
            else:
                ax.bar(x, v, width, color=colour(name), label=labels.get(name, name))
                ax.annotate(f"{v:,.0f}", (x, v), ha="center", va="bottom", fontsize=7)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys())
    ax.set_xticks(range(len(groups)), groups)


@_with_style
def reference_bars(data: dict, path: Path, cases: tuple[str, ...] = ("small", "large", "api_get")) -> None:
    """Grouped bars: requests per second per case, ours against the reference servers."""
    runs = [r for r in data["runs"] if r["case"] in cases]
    by = {(r["server"], r["case"]): r["rps"] for r in runs}
    fig = _figure()
    ax = fig.add_subplot()
    _grouped_bars(ax, list(cases), _servers(data["runs"]), lambda s, c: by.get((s, c)))
    ax.set_yscale("log")
    ax.set(ylabel="requests per second (log)", title=data["title"])
    ax.grid(alpha=0.3, axis="y", which="both")
    _footer(fig, runs)
    _save(fig, path)


@_with_style
def slow_client_bars(data: dict, path: Path) -> None:
    """Grouped bars: each server's rate alone and with one slow client."""
    by = {(r["server"], r["case"]): r["rps"] for r in data["runs"]}
    servers = _servers(data["runs"])
    fig = _figure()
    ax = fig.add_subplot()
    shades = {"alone": "#9ecae1", "one_slow": "#d62728"}
    _grouped_bars(ax, servers, ["alone", "one_slow"], lambda case, srv: by.get((srv, case)),
                  colour=lambda case: shades[case], labels={"one_slow": "with one slow client"})
    ax.set(ylabel="requests per second", title=data["title"])
    ax.grid(alpha=0.3, axis="y")
    _footer(fig, data["runs"])
    _save(fig, path)


FIGURES = {
    "throughput_vs_concurrency.png": ("concurrency", throughput_vs_concurrency),
    "latency_vs_concurrency.png": ("concurrency", latency_vs_concurrency),
    "latency_spectrum.png": ("reference", latency_spectrum),
    "throughput_vs_workers.png": ("workers", throughput_vs_workers),
    "reference_servers.png": ("reference", reference_bars),
    "slow_client.png": ("slow_client", slow_client_bars),
}


def draw_all(data: dict[str, dict], figures_dir: Path) -> list[Path]:
    """Every figure whose scenario is in `data`; returns the paths written."""
    figures_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (scenario, draw) in FIGURES.items():
        if scenario in data:
            draw(data[scenario], figures_dir / name)
            written.append(figures_dir / name)
    return written

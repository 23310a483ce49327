"""Results of a bench run: one summary table (rich), CSV + JSON, and a PNG plot."""

from __future__ import annotations

import csv
import json
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["Measurement", "Summary", "summarise", "write_outputs"]


@dataclass
class Measurement:
    """One Locust run against one server."""

    scenario: str
    database: str
    size: int
    depth: int
    target: str  # portalis | baseline
    pair: int
    users: int
    seconds: int
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float
    locust_cpu: float
    rss_mb: float
    rate: float = 0.0  # requested rate for fixed-rate runs, 0 = as fast as possible
    server_cpu_us: float = 0.0  # server CPU time per request (how it is taken: see _cpu)
    errors: list[str] = field(default_factory=list)


@dataclass
class Summary:
    scenario: str
    database: str
    size: int
    depth: int
    rate: float
    rps: float
    p50: float
    p95: float
    p99: float
    failures: int
    requests: int
    base_rps: float | None
    base_p95: float | None
    ratio: float | None  # median over pairs of portalis rps / baseline rps
    ratios: list[float]
    rss_start_mb: float
    rss_end_mb: float
    cpu_us: float = 0.0  # median server CPU per request (µs), Portalis
    base_cpu_us: float | None = None  # the same for the baseline


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def summarise(rows: list[Measurement], rss: dict[tuple[str, int], tuple[float, float]]
              ) -> list[Summary]:
    groups: dict[tuple[str, str, int, int, float], list[Measurement]] = defaultdict(list)
    for m in rows:
        groups[(m.scenario, m.database, m.size, m.depth, m.rate)].append(m)
    out: list[Summary] = []
    for (scenario, database, size, depth, rate), ms in groups.items():
        a = [m for m in ms if m.target == "portalis"]
        b = {m.pair: m for m in ms if m.target == "baseline"}
        ratios = [m.rps / b[m.pair].rps for m in a if m.pair in b and b[m.pair].rps > 0]
        start, end = rss.get((database, size), (0.0, 0.0))
        out.append(Summary(
            scenario=scenario, database=database, size=size, depth=depth, rate=rate,
            rps=_median([m.rps for m in a]), p50=_median([m.p50 for m in a]),
            p95=_median([m.p95 for m in a]), p99=_median([m.p99 for m in a]),
            failures=sum(m.failures for m in a) + sum(m.failures for m in b.values()),
            requests=sum(m.requests for m in a),
            base_rps=_median([m.rps for m in b.values()]) if b else None,
            base_p95=_median([m.p95 for m in b.values()]) if b else None,
            ratio=_median(ratios) if ratios else None, ratios=ratios,
            rss_start_mb=start, rss_end_mb=end,
            cpu_us=_median([m.server_cpu_us for m in a]),
            base_cpu_us=_median([m.server_cpu_us for m in b.values()]) if b else None))
    return out


def _cpu(s: Summary) -> str:
    """Server CPU time per request, Portalis (baseline): the same comparison, less
    sensitive to what else the machine runs. It is the server's CPU over the whole
    Locust run divided by the requests Locust counted after its users started, so it
    slightly overstates both (sign-in and warm-up happen before and are not in it)."""
    if not s.cpu_us:
        return "-"
    return f"{s.cpu_us:.0f}" + ("" if s.base_cpu_us is None else f" ({s.base_cpu_us:.0f})")


def print_table(summaries: list[Summary], console: Console) -> None:
    table = Table(title="Portalis vs bare baseline (same run, A B A B; medians over pairs)")
    for name in ("scenario", "db", "cases", "page", "rate/s", "req/s", "p50 ms", "p95 ms",
                 "p99 ms", "fail", "base req/s", "base p95", "ratio", "CPU µs/req", "RSS MB"):
        table.add_column(name, justify="left" if name in ("scenario", "db") else "right")
    for s in summaries:
        table.add_row(
            s.scenario, s.database, f"{s.size:,}", str(s.depth) if s.depth else "-",
            f"{s.rate:.0f}" if s.rate else "max", f"{s.rps:.0f}", f"{s.p50:.0f}",
            f"{s.p95:.0f}", f"{s.p99:.0f}", str(s.failures),
            "-" if s.base_rps is None else f"{s.base_rps:.0f}",
            "-" if s.base_p95 is None else f"{s.base_p95:.0f}",
            "-" if s.ratio is None else f"{s.ratio:.2f}", _cpu(s),
            f"{s.rss_start_mb:.0f}→{s.rss_end_mb:.0f}")
    console.print(table)


def markdown_table(summaries: list[Summary]) -> str:
    lines = ["| scenario | db | cases | page | rate/s | req/s | p50 | p95 | p99 | fail "
             "| base req/s | base p95 | ratio (pairs) | CPU µs/req (base) | RSS MB |",
             "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for s in summaries:
        pairs = ", ".join(f"{r:.2f}" for r in s.ratios)
        ratio = "-" if s.ratio is None else f"{s.ratio:.2f} ({pairs})"
        lines.append(
            f"| {s.scenario} | {s.database} | {s.size:,} | {s.depth or '-'} | "
            f"{f'{s.rate:.0f}' if s.rate else 'max'} | {s.rps:.0f} | {s.p50:.0f} | "
            f"{s.p95:.0f} | {s.p99:.0f} | {s.failures} | "
            f"{'-' if s.base_rps is None else f'{s.base_rps:.0f}'} | "
            f"{'-' if s.base_p95 is None else f'{s.base_p95:.0f}'} | {ratio} | {_cpu(s)} | "
            f"{s.rss_start_mb:.0f}→{s.rss_end_mb:.0f} |")
    return "\n".join(lines)


def _plot(summaries: list[Summary], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    series: dict[tuple[str, str], list[Summary]] = defaultdict(list)
    for s in summaries:
        if not s.rate and s.scenario != "list-deep":
            series[(s.scenario, s.database)].append(s)
    for (scenario, database), items in sorted(series.items()):
        items.sort(key=lambda s: s.size)
        xs = [s.size for s in items]
        line = left.plot(xs, [s.p95 for s in items], marker="o", label=f"{scenario} {database}")
        base = [(s.size, s.base_p95) for s in items if s.base_p95 is not None]
        if base:
            left.plot([x for x, _ in base], [y for _, y in base], linestyle="--",
                      color=line[0].get_color(), alpha=0.6)
    left.set(xscale="log", xlabel="cases in the database", ylabel="p95 latency (ms)",
             title="p95 vs dataset size (dashed: bare baseline)")
    left.legend(fontsize=7)
    deep: dict[tuple[str, int], list[Summary]] = defaultdict(list)
    for s in summaries:
        if s.scenario == "list-deep":
            deep[(s.database, s.size)].append(s)
    for (database, size), items in sorted(deep.items()):
        items.sort(key=lambda s: s.depth)
        line = right.plot([s.depth for s in items], [s.p95 for s in items], marker="o",
                          label=f"{database} {size:,} cases")
        right.plot([s.depth for s in items], [s.base_p95 or 0 for s in items], linestyle="--",
                   color=line[0].get_color(), alpha=0.6)
    right.set(xscale="log", xlabel="page number", ylabel="p95 latency (ms)",
              title="p95 vs page depth (dashed: bare baseline)")
    if deep:
        right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(out: Path, stamp: str, rows: list[Measurement], summaries: list[Summary],
                  meta: dict[str, Any]) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / f"bench-{stamp}.json", "csv": out / f"bench-{stamp}.csv",
             "summary_csv": out / f"bench-{stamp}-summary.csv",
             "png": out / f"bench-{stamp}.png", "md": out / f"bench-{stamp}.md"}
    paths["json"].write_text(json.dumps({
        "meta": meta, "measurements": [asdict(r) for r in rows],
        "summary": [asdict(s) for s in summaries]}, indent=2))
    for key, items in (("csv", [asdict(r) for r in rows]),
                       ("summary_csv", [asdict(s) for s in summaries])):
        if items:
            with paths[key].open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(items[0]))
                writer.writeheader()
                writer.writerows(items)
    paths["md"].write_text(markdown_table(summaries) + "\n")
    _plot(summaries, paths["png"])
    return paths

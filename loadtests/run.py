"""The benchmark: ``python -m portalis.loadtests.run``.

For each database engine and dataset size: seed (unless already seeded with that N),
start Portalis (``portalis.loadtests.asgi:create``) and the bare baseline
(``portalis.loadtests.baseline:create``) under uvicorn pinned to core 0, then run
Locust headless pinned to core 1, alternating Portalis and baseline (A B A B) for
each list scenario; then the read-your-writes and anonymous scenarios, a page-depth
sweep over bigco's cases, and optionally a fixed-rate run at half the baseline's
peak. Prints one table; writes JSON, CSV, a Markdown table and a PNG plot into
``loadtests/results/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import signal
import statistics
import sys
from pathlib import Path
from typing import Any

import httpx
import psutil
from rich.console import Console

from portalis.core.migrate import migrate
from portalis.loadtests.benchsite import HEADER_NOTE
from portalis.loadtests.manifest import bench_users, deep_cursor
from portalis.loadtests.report import (
    Measurement,
    markdown_table,
    print_table,
    summarise,
    write_outputs,
)
from portalis.loadtests.seed import PASSWORD, plugin_apps, seed, seeded_cases
from portalis.loadtests.servers import Server, run_locust

__all__ = ["PAIRED", "main"]

RESULTS = Path(__file__).with_name("results")
PAIRED = {"list-html": "ListHtmlUser", "list-json": "ListJsonUser", "api-json": "ApiJsonUser"}
SINGLE = {"mixed-rw": "MixedUser", "anonymous": "AnonymousBrowser"}


def sign_in_all(url: str, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sign each user in through ``POST /_auth/login``; adds its ``cookie`` and ``csrf``."""
    out = []
    for user in users:
        with httpx.Client(base_url=url, timeout=30) as client:
            client.get("/_health").raise_for_status()
            token = client.cookies["csrftoken"]
            resp = client.post("/_auth/login", headers={"x-csrftoken": token},
                               json={"email": user["email"], "password": PASSWORD})
            resp.raise_for_status()
            cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        out.append({**user, "cookie": cookie, "csrf": token})
    return out


def database_url(kind: str, size: int, data: Path, pg: str, suffix: str = "") -> str:
    if kind == "sqlite":
        return f"sqlite:///{(data / f'bench-{size}{suffix}.sqlite').resolve()}"
    if kind == "postgres":
        return f"{pg.rstrip('/')}/portalis_bench_{size}{suffix.replace('-', '_')}"
    raise SystemExit(f"unknown database {kind!r} (sqlite or postgres)")


class Bench:
    def __init__(self, args: argparse.Namespace, console: Console) -> None:
        self.a = args
        self.console = console
        self.out: Path = args.out
        self.stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        self.rows: list[Measurement] = []
        self.rss: dict[tuple[str, int], tuple[float, float]] = {}

    def measure(self, server: Server, cls: str, *, scenario: str, kind: str, size: int,
                depth: int, target: str, pair: int, users: int, env: dict[str, str],
                rate: float = 0.0) -> Measurement:
        env = dict(env)
        if target == "baseline":  # the bare app has no sign-in: it takes the ids as headers
            env["PORTALIS_BENCH_LOGIN"] = "header"
        if rate:
            env["PORTALIS_BENCH_RATE"] = str(rate)
        name = f"{kind}-{size}-{scenario}-{depth}-{target}-{pair}{f'-r{rate:.0f}' if rate else ''}"
        prefix = self.out / "locust" / self.stamp / name
        cpu_before = server.cpu_seconds()
        r = run_locust(cls, server.url, users=users, seconds=self.a.seconds, csv_prefix=prefix,
                       env=env, reset_stats=env["PORTALIS_BENCH_LOGIN"] == "real")
        m = Measurement(scenario=scenario, database=kind, size=size, depth=depth, target=target,
                        pair=pair, users=users, seconds=self.a.seconds, requests=r.requests,
                        failures=r.failures, rps=r.rps, p50=r.p50, p95=r.p95, p99=r.p99,
                        locust_cpu=r.locust_cpu, rss_mb=server.sample() / 2**20, rate=rate,
                        server_cpu_us=(server.cpu_seconds() - cpu_before) / max(1, r.requests)
                        * 1e6,
                        errors=r.errors)
        self.rows.append(m)
        self.console.print(
            f"  {scenario:<10} {target:<8} page {depth or '-':<5} pair {pair}: "
            f"{m.rps:7.0f} req/s p50 {m.p50:5.0f} p95 {m.p95:5.0f} p99 {m.p99:5.0f} ms, "
            f"{m.failures} failures / {m.requests}, locust CPU {m.locust_cpu:.0%}, "
            f"server CPU {m.server_cpu_us:.0f} µs/req, "
            f"RSS {m.rss_mb:.0f} MB")
        for error in r.errors[:5]:
            self.console.print(f"    [red]{error}[/red]")
        return m

    def warm(self, server: Server, user: dict[str, Any]) -> None:
        headers = {"x-bench-contact": user["email"], "accept": "application/json",
                   "x-bench-contact-id": str(user["contact_id"]),
                   "x-bench-account-id": str(user["account_id"])}
        if user.get("cookie"):
            headers["cookie"] = user["cookie"]
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
            for _ in range(50):
                client.get("/_lists/cases").raise_for_status()
                client.get("/_api/case?$top=20").raise_for_status()

    def one_dataset(self, kind: str, size: int) -> None:
        real = self.a.login == "real"
        url = database_url(kind, size, self.out / "data", self.a.pg, "-identity" if real else "")
        if self.a.reseed or asyncio.run(seeded_cases(url)) != size:
            self.console.print(f"[bold]seeding {size:,} cases into {kind}[/bold]")
            asyncio.run(seed(url, size, console=self.console,
                             plugins=self.a.plugins.split(",")))
        else:  # a database seeded by an older kernel: apply pending migrations
            asyncio.run(migrate(url, plugin_apps(self.a.plugins.split(",")),
                                echo=lambda *_: None))
        users = asyncio.run(bench_users(url))
        big = asyncio.run(bench_users(url, bigco=True))
        env = {"PORTALIS_DATABASE_URL": url, "PORTALIS_PLUGINS": self.a.plugins,
               "PORTALIS_SECRET_KEY": "bench-secret-key", "PORTALIS_BENCH_LOGIN": self.a.login,
               "PORTALIS_BENCH_DEPTH": str(self.a.follow)}
        logs = self.out / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        portalis = Server("portalis.loadtests.asgi:create", env, workers=self.a.workers,
                          log=logs / f"portalis-{kind}-{size}.log")
        baseline = Server("portalis.loadtests.baseline:create", env,
                          log=logs / f"baseline-{kind}-{size}.log")
        data = self.out / "data"
        data.mkdir(parents=True, exist_ok=True)
        users_file, big_file = data / f"users-{kind}-{size}.json", data / f"big-{kind}-{size}.json"
        try:
            portalis.wait_ready()
            baseline.wait_ready()
            if real:  # sessions made through POST /_auth/login before anything is measured
                users = sign_in_all(portalis.url, users[: self.a.users])
                big = sign_in_all(portalis.url, big[: self.a.users])
            users_file.write_text(json.dumps(users))
            big_file.write_text(json.dumps(big))
            self.warm(portalis, users[0])
            self.warm(baseline, users[0])
            rss_start = portalis.sample() / 2**20
            self.console.print(f"[bold]{kind} {size:,} cases[/bold] — Portalis {portalis.url} "
                               f"(RSS {rss_start:.0f} MB), baseline {baseline.url}")
            lenv = {**env, "PORTALIS_BENCH_USERS": str(users_file)}
            common = {"kind": kind, "size": size, "users": self.a.users, "env": lenv}
            for scenario in self.a.scenarios:
                cls = PAIRED[scenario]
                for pair in range(1, self.a.pairs + 1):
                    self.measure(portalis, cls, scenario=scenario, depth=0, target="portalis",
                                 pair=pair, **common)
                    self.measure(baseline, cls, scenario=scenario, depth=0, target="baseline",
                                 pair=pair, **common)
            for scenario in self.a.extra:
                self.measure(portalis, SINGLE[scenario], scenario=scenario, depth=0,
                             target="portalis", pair=1, **common)
            if size in self.a.depth_sizes:
                self.depth_sweep(portalis, baseline, url, kind, size, env, big_file, len(big))
            if self.a.fixed_rate:
                self.fixed_rate(portalis, baseline, kind, size, common)
            self.rss[(kind, size)] = (rss_start, portalis.sample() / 2**20)
        finally:
            portalis.stop()
            baseline.stop()

    def depth_sweep(self, portalis: Server, baseline: Server, url: str, kind: str, size: int,
                    env: dict[str, str], big_file: Path, n_big: int) -> None:
        for depth in self.a.depths:
            cursor = asyncio.run(deep_cursor(url, depth))
            if depth > 1 and cursor is None:
                self.console.print(f"  (bigco has fewer than {depth} pages at {size:,} cases)")
                continue
            denv = {**env, "PORTALIS_BENCH_DEPTH_USERS": str(big_file),
                    "PORTALIS_BENCH_CURSOR": cursor or ""}
            users = min(self.a.users, n_big)
            for target, server in (("portalis", portalis), ("baseline", baseline)):
                self.measure(server, "DepthUser", scenario="list-deep", kind=kind, size=size,
                             depth=depth, target=target, pair=1, users=users, env=denv)

    def fixed_rate(self, portalis: Server, baseline: Server, kind: str, size: int,
                   common: dict[str, Any]) -> None:
        peak = [m.rps for m in self.rows if m.database == kind and m.size == size
                and m.scenario == "list-json" and m.target == "baseline" and not m.rate]
        if not peak:
            return
        rate = round(0.5 * statistics.median(peak))
        for target, server in (("portalis", portalis), ("baseline", baseline)):
            self.measure(server, "ListJsonUser", scenario="list-json", depth=0, target=target,
                         pair=1, rate=rate, **common)

    def meta(self) -> dict[str, Any]:
        return {"stamp": self.stamp, "args": {k: str(v) for k, v in vars(self.a).items()},
                "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                            "python": platform.python_version(),
                            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
                            "load_avg_at_end": os.getloadavg()},
                "login": HEADER_NOTE if self.a.login == "header" else "POST /_auth/login"}

    def run(self) -> None:
        for kind in self.a.databases:
            for size in self.a.sizes:
                self.one_dataset(kind, size)
        summaries = summarise(self.rows, self.rss)
        print_table(summaries, self.console)
        paths = write_outputs(self.out, self.stamp, self.rows, summaries, self.meta())
        (self.out / "latest.md").write_text(markdown_table(summaries) + "\n")
        for name, path in paths.items():
            self.console.print(f"{name}: {path}")


def _ints(text: str) -> list[int]:
    return [int(x.replace("_", "").replace("k", "000").replace("M", "000000"))
            for x in text.split(",") if x]


def _names(allowed: dict[str, str]) -> Any:
    def parse(text: str) -> list[str]:
        names = [x for x in text.split(",") if x]
        bad = [n for n in names if n not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {bad} (choose from {', '.join(allowed)})")
        return names
    return parse


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m portalis.loadtests.run",
                                description="Portalis list throughput against the bare-SQL "
                                            "baseline, in one run.")
    p.add_argument("--databases", type=lambda t: t.split(","), default=["sqlite"],
                   help="sqlite,postgres")
    p.add_argument("--sizes", type=_ints, default=[10_000], help="cases, e.g. 10k,100k,1M")
    p.add_argument("--scenarios", type=_names(PAIRED), default=list(PAIRED))
    p.add_argument("--extra", type=_names(SINGLE), default=list(SINGLE),
                   help="unpaired Portalis scenarios")
    p.add_argument("--depths", type=_ints, default=[1, 10, 100, 1000])
    p.add_argument("--depth-sizes", type=_ints, default=None,
                   help="dataset sizes to sweep page depth on (default: all)")
    p.add_argument("--follow", type=int, default=10, help="pages a paging user follows")
    p.add_argument("--seconds", type=int, default=15, help="duration of each Locust run")
    p.add_argument("--users", type=int, default=20, help="concurrent Locust users")
    p.add_argument("--pairs", type=int, default=2, help="A B pairs per scenario")
    p.add_argument("--workers", type=int, default=1, help="uvicorn workers (1 per core)")
    p.add_argument("--fixed-rate", action="store_true",
                   help="also run list-json at 50%% of the baseline's peak")
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432",
                   help="PostgreSQL server (databases portalis_bench_<N> are created)")
    p.add_argument("--plugins", default=None,
                   help="enabled plugins (default: selfservice; with --login real: "
                        "selfservice,identity)")
    p.add_argument("--login", choices=("header", "real"), default="real",
                   help="header: the load-test sign-in; real: POST /_auth/login "
                        "(identity plugin), seeded into separate *-identity databases")
    p.add_argument("--reseed", action="store_true")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    # stop the servers on SIGTERM too (the finally blocks run on SystemExit)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.plugins is None:
        args.plugins = "selfservice,identity" if args.login == "real" else "selfservice"
    if args.depth_sizes is None:
        args.depth_sizes = args.sizes
    Bench(args, Console(width=160)).run()


if __name__ == "__main__":
    main()

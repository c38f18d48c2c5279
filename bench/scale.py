"""The daemon at scale: N feeds on a local farm, the real `claimwatch run` process, one table of figures.

    .venv/bin/python bench/scale.py --feeds 2000 [--db sqlite|postgres] [--every 5m] [--cycles 1]
    .venv/bin/python bench/scale.py --quick            # 200 feeds, 3 items each, every 30s: about a minute

Starts bench/farm.py's farm (N feeds of `--items` items, `--recent` of them inside the 2-day backfill, ETags, 304s, ~500-word article pages, a
json:// receiver), writes a watchlist (the bundled musk-putin.yaml + N sources `every: EVERY`),
starts the daemon (its default settings, CLAIMWATCH_LOG_LEVEL=WARNING) and:

1. waits for the first pass: every feed fetched once, then every article page read (or no new
   article read for 15 s): "first poll";
2. per cycle (`--cycles`): advances 10% of the feeds (one new item each) and runs for one interval,
   counting checks (feed requests at the farm), CPU (utime+stime of /proc/PID/stat, all threads)
   and overdue sources (next_due_at older than 30 s, read from the database every ~5 s);
3. then waits up to 30 s more for the last changed items, reads the articles' `fetched_at` from
   the database (matched by URL) and the receiver's arrival times, and stops the daemon (SIGTERM).

Latencies: change → stored counts from the farm's change (so it includes the wait for the
source's next due time, up to one interval); "poll that sees it → stored" counts from the first
200 the farm served with the new item. Peak RSS is the daemon's VmHWM. Every wait is bounded
(`--first-pass-timeout`, the cycles, 30 s of grace, 30 s to stop). Run by hand; the machine is
shared and noisy, so note its load (`uptime`) beside the figures.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import asyncpg
from farm import Farm
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    MetaData,
    Table,
    Text,
    TypeDecorator,
    func,
    select,
)
from sqlalchemy.ext.asyncio import create_async_engine


class _UTC(TypeDecorator):  # type: ignore[type-arg]
    """storage.models.UTCDateTime, restated so the bench reads the database without importing the
    daemon's code (which may be mid-edit when `--src` points the daemon at another tree)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_MD = MetaData()
SOURCES = Table("sources", _MD, Column("enabled", Boolean), Column("next_due_at", _UTC))
ARTICLES = Table("articles", _MD, Column("url", Text), Column("fetched_at", _UTC))

PG_ADMIN = os.environ.get("CLAIMWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test").replace(
    "postgresql+asyncpg://", "postgresql://")
CLK_TCK = os.sysconf("SC_CLK_TCK")
OVERDUE_GRACE = 30.0


def seconds(text: str) -> int:
    total, pos = 0, 0
    for m in re.finditer(r"(\d+)([dhms])", text):
        total += int(m.group(1)) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[m.group(2)]
        pos = m.end()
    if not total or pos != len(text):
        raise argparse.ArgumentTypeError(f"bad duration {text!r} (e.g. 30s, 5m, 1h30m)")
    return total


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def peak_rss_mb(pid: int, field: str = "VmHWM") -> float:
    """The daemon's peak resident memory (VmHWM), or its current one (field="VmRSS")."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def fmt(v: float | None, unit: str = "s", digits: int = 1) -> str:
    return "n/a" if v is None else f"{v:.{digits}f} {unit}".rstrip()


@dataclass
class Cycle:
    wall: float
    checks: int
    ok: int
    not_modified: int
    cpu: float
    articles: int
    changed: int
    overdue_max: int
    overdue_samples: int


@dataclass
class Run:
    feeds: int
    backend: str
    every: int
    first_feeds: float | None = None
    first_articles: float | None = None
    first_cpu: float | None = None
    first_article_count: int = 0
    first_alerts: int = 0  # alerts the hook had received when the first pass ended
    first_alerts_after: int = 0  # and 3 s later, once its last articles were stored
    cycles: list[Cycle] = field(default_factory=list)
    stored: list[float] = field(default_factory=list)  # change → stored
    seen_stored: list[float] = field(default_factory=list)  # poll that sees it → stored
    alerted: list[float] = field(default_factory=list)  # change → alert received
    changed_total: int = 0
    stored_total: int = 0
    alerts_total: int = 0
    rss: float = float("nan")
    first_rss: float = float("nan")  # peak by the end of the first pass
    end_rss: float = float("nan")  # resident at the end, after the cycles
    exit_code: int | None = None
    notes: list[str] = field(default_factory=list)


async def overdue(engine, now: datetime) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return int(await conn.scalar(
            select(func.count()).select_from(SOURCES).where(
                SOURCES.c.enabled.is_(True),
                SOURCES.c.next_due_at < now - timedelta(seconds=OVERDUE_GRACE))) or 0)


async def fetched_at(engine, urls: list[str]) -> dict[str, datetime]:  # type: ignore[no-untyped-def]
    t = ARTICLES
    out: dict[str, datetime] = {}
    async with engine.connect() as conn:
        for i in range(0, len(urls), 500):
            rows = await conn.execute(select(t.c.url, t.c.fetched_at).where(t.c.url.in_(urls[i:i + 500])))
            out.update({u: f for u, f in rows})
    return out


async def article_count(engine) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(ARTICLES)) or 0)


async def measure(args: argparse.Namespace) -> Run:
    run = Run(args.feeds, args.db, args.every)
    farm = Farm(feeds=args.feeds, items=args.items, recent=args.recent)
    await farm.start()
    pg_name = None
    tmp = tempfile.TemporaryDirectory(prefix="cw_scale_")
    proc = None
    engine = None
    log_file = None
    log_path = Path(tmp.name) / "daemon.log"
    try:
        if args.db == "postgres":
            pg_name = f"cw_bench_{uuid.uuid4().hex[:8]}"
            admin = await asyncpg.connect(PG_ADMIN, timeout=10)
            await admin.execute(f'CREATE DATABASE "{pg_name}"')
            await admin.close()
            db = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{pg_name}"
        else:
            db = f"sqlite+aiosqlite:///{tmp.name}/cw.db"
        wl = Path(tmp.name) / "watchlists"
        wl.mkdir()
        (wl / "musk-putin.yaml").write_text((REPO / "watchlists" / "musk-putin.yaml").read_text())
        # the farm is on 127.0.0.1: a daemon that refuses private hosts unless allowed is told so
        # (a tree from before `allow_private:` refuses the unknown key, and fetches loopback anyway)
        src = args.src or REPO
        private = ["    allow_private: true"] if "allow_private" in (src / "monitor" / "watchlist.py").read_text() else []
        lines = ["sources:"]
        for k in range(args.feeds):
            lines += [f"  - name: Farm Wire {k}", f"    feed: {farm.feed_url(k)}", f"    every: {args.every}s", *private]
        (wl / "sources.yaml").write_text("\n".join(lines) + "\n")
        env = {**os.environ, "SLACK_DESK_URL": farm.hook_url, "CLAIMWATCH_LOG_LEVEL": "WARNING",
               "CLAIMWATCH_HTTP": "127.0.0.1:0"}
        env.pop("DESK_EMAIL_URL", None)
        if args.src:
            env["PYTHONPATH"] = os.pathsep.join([str(args.src), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        log_file = log_path.open("wb")
        started = time.time()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "run", "--watchlists", str(wl), "--db", db,
            env=env, cwd=tmp.name, stdout=log_file, stderr=asyncio.subprocess.STDOUT,
            preexec_fn=(lambda: os.sched_setaffinity(0, {args.cpu})) if args.cpu is not None else None)
        engine = create_async_engine(db)

        def alive() -> bool:
            return proc is not None and proc.returncode is None

        # 1. the first pass
        expected_articles = args.feeds * min(args.items, args.recent)
        deadline = started + args.first_pass_timeout
        last_articles, last_change = -1, time.time()
        while time.time() < deadline and alive():
            tot = farm.totals()
            now = time.time()
            if run.first_feeds is None and tot["feeds_fetched"] == args.feeds:
                run.first_feeds = now - started
            if tot["distinct_articles"] != last_articles:
                last_articles, last_change = tot["distinct_articles"], now
            if run.first_feeds is not None and (tot["distinct_articles"] >= expected_articles
                                                or now - last_change > 15):
                if tot["distinct_articles"] < expected_articles:
                    run.notes.append(f"first pass: {tot['distinct_articles']} of {expected_articles} article pages "
                                     "read; none more for 15 s")
                    now = last_change
                run.first_articles = now - started
                break
            await asyncio.sleep(0.5)
        if not alive():
            raise RuntimeError(f"the daemon exited ({proc.returncode}) during the first pass:\n"
                               + log_path.read_text()[-3000:])
        run.first_cpu = cpu_seconds(proc.pid)
        run.first_rss = peak_rss_mb(proc.pid)
        run.first_alerts = len(farm.alerts)
        if run.first_articles is None:
            tot = farm.totals()
            run.notes.append(f"first pass not over after {args.first_pass_timeout:.0f} s: "
                             f"{tot['feeds_fetched']} of {args.feeds} feeds fetched, "
                             f"{tot['distinct_articles']} of {expected_articles} article pages read")
        # wait (bounded) for the daemon to store what it read, then let the backlog drain
        await asyncio.sleep(3)
        run.first_article_count = await article_count(engine)
        run.first_alerts_after = len(farm.alerts)

        # 2. cycles: advance 10%, run one interval
        changes: dict[str, float] = {}  # changed item's page URL → its change time
        for _ in range(args.cycles):
            if not alive():
                break
            t0, cpu0, tot0 = time.time(), cpu_seconds(proc.pid), farm.totals()
            changed = farm.advance(args.change)
            changes.update({u: t for t, u in changed.values()})
            od_max, samples = 0, 0
            end = t0 + args.every
            while time.time() < end and alive():
                od_max = max(od_max, await overdue(engine, datetime.now(UTC)))
                samples += 1
                await asyncio.sleep(min(5.0, max(0.0, end - time.time())))
            if not alive():
                break
            t1, cpu1, tot1 = time.time(), cpu_seconds(proc.pid), farm.totals()
            run.cycles.append(Cycle(
                wall=t1 - t0, checks=tot1["requests"] - tot0["requests"], ok=tot1["ok"] - tot0["ok"],
                not_modified=tot1["not_modified"] - tot0["not_modified"], cpu=cpu1 - cpu0,
                articles=tot1["articles"] - tot0["articles"], changed=len(changed),
                overdue_max=od_max, overdue_samples=samples))

        # 3. stragglers, latencies
        urls = list(changes)
        grace_end = time.time() + 30
        stored: dict[str, datetime] = {}
        while alive():
            stored = await fetched_at(engine, urls)
            if len(stored) >= len(urls) or time.time() > grace_end:
                break
            await asyncio.sleep(1)
        await asyncio.sleep(2)  # the last alerts leave as their poll commits
        run.changed_total, run.stored_total = len(urls), len(stored)
        for url, at in stored.items():
            run.stored.append(at.timestamp() - changes[url])
            if url in farm.first_served:
                run.seen_stored.append(at.timestamp() - farm.first_served[url])
        pattern = re.compile(re.escape(farm.base) + r"/news/(\d+)/(\d+)")
        first_arrival: dict[str, float] = {}
        for stamp, _title, message in farm.alerts:
            for m in pattern.finditer(message):
                first_arrival.setdefault(m.group(0), stamp)
        run.alerts_total = len(farm.alerts)
        for url, stamp in first_arrival.items():
            if url in changes:
                run.alerted.append(stamp - changes[url])
        if alive():
            run.rss = peak_rss_mb(proc.pid)
            run.end_rss = peak_rss_mb(proc.pid, "VmRSS")
    finally:
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if proc is not None:
            run.exit_code = proc.returncode
        if log_file is not None:
            log_file.close()
        if engine is not None:
            await engine.dispose()
        await farm.stop()
        if pg_name:
            admin = await asyncpg.connect(PG_ADMIN, timeout=10)
            await admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await admin.close()
        errors = [line for line in log_path.read_text(errors="replace").splitlines()
                  if "ERROR" in line or "Traceback" in line] if log_path.exists() else []
        if errors:
            keep = Path(tempfile.gettempdir()) / "cw_scale_daemon.log"
            keep.write_bytes(log_path.read_bytes())
            run.notes.append(f"daemon log: {len(errors)} error line(s), first: {errors[0][:200]} (the log: {keep})")
        tmp.cleanup()
    return run


def table(run: Run, args: argparse.Namespace) -> str:
    rows: list[tuple[str, str, str]] = []
    n, every = run.feeds, run.every
    rows.append(("first poll: every feed fetched once", fmt(run.first_feeds), ""))
    recent = min(args.items, args.recent)
    rows.append((f"first poll: every article read ({n} feeds × {args.items} items, {recent} in the backfill)",
                 fmt(run.first_articles), "≤ 120 s (2,000 new feeds, backfill 2 days)"))
    if run.first_cpu is not None and run.first_articles:
        rows.append(("first poll: CPU-s, share of a core", f"{run.first_cpu:.0f} s, {run.first_cpu / run.first_articles:.2f}", ""))
    rows.append(("articles stored after the first pass", f"{run.first_article_count}", f"{n * recent}"))
    rows.append(("alerts received by the end of the first pass; 3 s later",
                 f"{run.first_alerts}; {run.first_alerts_after}", "all of them as they are committed"))
    for i, c in enumerate(run.cycles, 1):
        tag = f"cycle {i} ({c.wall:.0f} s, {c.changed} feeds changed)"
        rows.append((f"{tag}: checks/s", f"{c.checks / c.wall:.2f} ({c.checks} checks: {c.ok} × 200, {c.not_modified} × 304)",
                     f"{n / every:.2f} (every source on its interval)"))
        rows.append((f"{tag}: share of a core", f"{c.cpu / c.wall:.3f} ({c.cpu:.1f} CPU-s)",
                     "≤ 0.3 at 10,000 sources / 5 min, 10% changed"))
        rows.append((f"{tag}: CPU-s per 1,000 checks", fmt(c.cpu / c.checks * 1000 if c.checks else None, "", 2),
                     "≤ 3 at 2,000 feeds, 10% changed"))
        rows.append((f"{tag}: article pages read", f"{c.articles}", f"{c.changed} (one per changed feed)"))
        rows.append((f"{tag}: overdue > 30 s (max of {c.overdue_samples} samples)", f"{c.overdue_max}", "0"))
    rows.append(("changed items stored", f"{run.stored_total} of {run.changed_total}", f"{run.changed_total}"))
    rows.append(("change → article stored p50 / p95", f"{fmt(pct(run.stored, .5))} / {fmt(pct(run.stored, .95))}",
                 f"≤ interval ({every} s) + 5 s"))
    rows.append(("poll that sees it → stored p50 / p95",
                 f"{fmt(pct(run.seen_stored, .5), digits=2)} / {fmt(pct(run.seen_stored, .95), digits=2)}", "p95 ≤ 5 s"))
    rows.append(("change → alert received p50 / p95 (n)",
                 f"{fmt(pct(run.alerted, .5))} / {fmt(pct(run.alerted, .95))} ({len(run.alerted)})",
                 f"≤ interval ({every} s) + 5 s"))
    rows.append(("alerts received in all", f"{run.alerts_total}", ""))
    rows.append(("peak RSS of the daemon (VmHWM)", fmt(run.rss, "MB", 0), "≤ 300 MB at 10,000 sources"))
    rows.append(("  of which reached in the first poll; resident at the end",
                 f"{fmt(run.first_rss, 'MB', 0)}; {fmt(run.end_rss, 'MB', 0)}", ""))
    rows.append(("daemon exit status (SIGTERM)", f"{run.exit_code}", "0"))
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    src = f", daemon from {args.src}" if args.src else ""
    pinned = f", daemon pinned to core {args.cpu}" if args.cpu is not None else ""
    head = (f"claimwatch scale: {n} feeds, {run.backend}, every {every} s, {args.items} items/feed, "
            f"{len(run.cycles)} cycle(s){pinned}{src}; load average at the end {os.getloadavg()[0]:.2f}")
    out = [head, f"| {'measure':<{w1}} | {'result':<{w2}} | target |", f"|{'-' * (w1 + 2)}|{'-' * (w2 + 2)}|--------|"]
    out += [f"| {a:<{w1}} | {b:<{w2}} | {c} |" for a, b, c in rows]
    out += [f"note: {note}" for note in run.notes]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=30, help="items per feed (default 30)")
    parser.add_argument("--recent", type=int, default=3,
                        help="of which this many are from the last 2 days, the rest older (default 3)")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--every", type=seconds, default=300, help="poll interval of every source (default 5m)")
    parser.add_argument("--cycles", type=int, default=1)
    parser.add_argument("--change", type=float, default=0.1, help="fraction of feeds changed per cycle")
    parser.add_argument("--first-pass-timeout", type=float, default=600.0)
    parser.add_argument("--src", type=Path, default=None,
                        help="run the daemon from this source tree (e.g. a `git archive HEAD` copy) instead of the repo")
    parser.add_argument("--cpu", type=int, default=None,
                        help="pin the daemon to this one core (the targets are for one core)")
    parser.add_argument("--quick", action="store_true", help="200 feeds, 3 items, every 30s, 2 cycles")
    args = parser.parse_args()
    if args.quick:
        args.feeds, args.items, args.recent, args.every, args.cycles = 200, 3, 3, 30, 2
        args.first_pass_timeout = min(args.first_pass_timeout, 120.0)
    if args.every < 30:
        parser.error("--every: the daemon's minimum is 30s")
    run = asyncio.run(measure(args))
    print(table(run, args), flush=True)


if __name__ == "__main__":
    main()

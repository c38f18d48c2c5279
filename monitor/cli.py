"""The `claimwatch` command: run the daemon, check watchlists, try the matcher on an article,
and decide the stance of any text on any claim (`claimwatch stance`)."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import logging
import os
import sys
from collections.abc import Coroutine
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.batch import STANCE_HELP
from monitor.settings import Settings

log = logging.getLogger("claimwatch")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("claimwatch")
    except Exception:  # noqa: BLE001 - run from a checkout that was never installed
        return "unknown (not installed)"


_LOG_HELP = "DEBUG, INFO, WARNING or ERROR (env CLAIMWATCH_LOG_LEVEL, default INFO); before or after the command"
_WATCHLISTS_HELP = "watchlist directory (env CLAIMWATCH_WATCHLISTS, default ./watchlists)"
_DB_HELP = "SQLAlchemy URL (env CLAIMWATCH_DB, default a SQLite file here)"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="claimwatch", description=__doc__)
    p.add_argument("--version", action="version", version=f"claimwatch {_version()}")
    p.add_argument("--log-level", default=None, metavar="LEVEL", help=_LOG_HELP)
    # The same option after the command (`claimwatch run --log-level DEBUG`); SUPPRESS keeps a
    # level given before the command when none is given after it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log-level", default=argparse.SUPPRESS, metavar="LEVEL", help=_LOG_HELP)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", help="what to do (COMMAND --help for more)")

    def command(name: str, **kw: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kw)

    run = command("run", help="run the daemon (and its web server on CLAIMWATCH_HTTP)")
    run.add_argument("--watchlists", help=_WATCHLISTS_HELP)
    run.add_argument("--db", help=_DB_HELP)
    run.add_argument("--once", action="store_true",
                     help="poll every source once, deliver pending alerts, exit (3 when every source failed)")

    check = command("check", help="validate the watchlist files; exit 1 on any problem")
    check.add_argument("--watchlists", help=_WATCHLISTS_HELP)

    match = command("match", help="run the matcher on articles (files or URLs) and explain")
    match.add_argument("--watchlists", help=_WATCHLISTS_HELP)
    match.add_argument("--json", action="store_true", help="one JSON object per article")
    match.add_argument("inputs", nargs="+", metavar="FILE_OR_URL",
                       help="a URL, an .html file, or a text file whose first line is the title")

    explain = command("explain", help="why an article did or did not alert, claim by claim")
    explain.add_argument("target", metavar="URL_OR_ARTICLE_ID",
                         help="a stored article's id (from the API or desk page), or a URL: its stored "
                              "article, else the page fetched now (not stored)")
    explain.add_argument("--watchlists", help=_WATCHLISTS_HELP)
    explain.add_argument("--db", help=_DB_HELP + "; the stances already held are read from it")
    explain.add_argument("--json", action="store_true", help="the explanation as one JSON object")

    stance = command(
        "stance", help="the stance of each text on its claim, from a JSON-lines file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=STANCE_HELP)
    stance.add_argument("file", metavar="FILE", help="JSON-lines input; - reads stdin")
    stance.add_argument("--json", action="store_true",
                        help="one JSON object per input line, in input order (a bad line gives "
                             '{"id": ..., "line": N, "error": "..."})')
    stance.add_argument("--watchlists", metavar="DIR",
                        help="use this watchlist's entities and aliases to sharpen matching "
                             "(optional; without it no watchlist is read)")
    stance.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar on stderr (default: only when stderr is a terminal)")
    stance.add_argument("--fast", action="store_true",
                        help="skip the transformer reader of related articles: about twice the "
                             "pairs per second, fewer right agree/disagree answers")

    status = command("status", help="each source's last poll and error, and the alert outbox")
    status.add_argument("--db", help=_DB_HELP + "; it must exist")

    health = command("health", help="exit 0 if the daemon's heartbeat is fresh (Docker HEALTHCHECK)")
    health.add_argument("--max-age", type=float, default=180.0, metavar="SECONDS",
                        help="the oldest heartbeat (CLAIMWATCH_HEARTBEAT) still healthy, in seconds (default 180)")
    return p


def _fail(message: str, code: int = 2) -> int:
    """A one-line error on stderr, as argparse writes its own."""
    print(f"claimwatch: error: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    from monitor import logs

    args = _parser().parse_args(argv)
    level = (args.log_level or os.environ.get("CLAIMWATCH_LOG_LEVEL") or "INFO").strip().upper()
    if level not in logs.LEVELS:
        return _fail(f"log level {level.lower()!r} is not one of DEBUG, INFO, WARNING, ERROR")
    fmt = (os.environ.get("CLAIMWATCH_LOG_FORMAT") or "text").strip().lower()
    if fmt not in logs.FORMATS:
        return _fail(f"CLAIMWATCH_LOG_FORMAT={fmt!r} is not text or json")
    logs.setup(level, fmt)  # no URL secret reaches the process log (monitor/redact.py)
    try:
        settings = Settings.from_env(watchlists=getattr(args, "watchlists", None), db_url=getattr(args, "db", None))
    except ValueError as err:  # a malformed number in a CLAIMWATCH_* variable
        return _fail(f"bad setting: {err}")
    try:
        return _command(args, settings)
    except DatabaseUnavailable as err:
        return _fail(str(err))


class DatabaseUnavailable(Exception):
    """The database cannot be opened: unknown scheme, unreachable, refused, missing."""


def _db_error(url: str, err: BaseException) -> DatabaseUnavailable:
    from monitor.daemon import _safe_db

    shown = _safe_db(url)
    reason = " ".join(str(getattr(err, "orig", None) or err).split()) or type(err).__name__
    try:
        from sqlalchemy.engine import make_url

        password = make_url(url).password
    except Exception:  # noqa: BLE001 - an unparseable URL has no password to hide
        password = None
    if password:
        reason = reason.replace(str(password), "***")
    return DatabaseUnavailable(f"cannot open the database {shown}: {reason[:300]}")


def _command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        return _with_db(settings, _run(settings, args.once))
    if args.command == "check":
        return check(settings.watchlists)
    if args.command == "match":
        return asyncio.run(match(settings, args.inputs, as_json=args.json))
    if args.command == "explain":
        return _missing_db(settings) or _with_db(settings, explain(settings, args.target, as_json=args.json))
    if args.command == "stance":
        from monitor.batch import stance

        return stance(args.file, as_json=args.json,
                      watchlists=Path(args.watchlists) if args.watchlists else None,
                      progress=sys.stderr.isatty() if args.progress is None else args.progress,
                      fast=args.fast)
    if args.command == "status":
        return _missing_db(settings) or _with_db(settings, status(settings))
    return health(settings, args.max_age)


def _missing_db(settings: Settings) -> int:
    """2 (after a one-line error) when the SQLite file a reading command names does not exist:
    opening it would create an empty database and report on nothing."""
    from monitor.replicas import sqlite_path

    try:
        path = sqlite_path(settings.db_url)
    except Exception as err:  # noqa: BLE001 - not a URL at all
        raise _db_error(settings.db_url, err) from None
    if path is not None and not path.exists():
        return _fail(f"no database at {path}: this command reads an existing one (`claimwatch run` creates "
                     "it); give --db or CLAIMWATCH_DB")
    return 0


def _with_db(settings: Settings, work: Coroutine[Any, Any, int]) -> int:
    """Run `work`; a database that cannot be opened is one line naming it (password masked)."""
    import asyncpg
    from sqlalchemy.exc import (
        ArgumentError,
        DBAPIError,
        NoSuchModuleError,
        OperationalError,
    )

    try:
        return asyncio.run(work)
    except (OSError, ValueError, ArgumentError, NoSuchModuleError, DBAPIError, OperationalError,
            asyncpg.PostgresError, asyncpg.InterfaceError) as err:
        raise _db_error(settings.db_url, err) from None


_M_ARENA_MAX = -8  # glibc's mallopt parameter


def _few_malloc_arenas() -> None:
    """Two malloc arenas for the whole process, as MALLOC_ARENA_MAX=2 would set, unless the
    environment already chose. glibc gives each new thread an arena of its own (up to 8 per core),
    and each of the daemon's threads (its CPU pool, aiosqlite's, apprise's) keeps its own freed
    fragments: 30 MB of a 2,000-source daemon's 321 MB peak. No-op outside glibc."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 2)


async def _run(settings: Settings, once: bool) -> int:
    from monitor.daemon import run

    _few_malloc_arenas()  # before the daemon starts its threads
    return await run(settings, once=once)


def check(directory: Path) -> int:
    from monitor.watchlist import WatchlistError, load_watchlists, reload_problems

    try:
        wl = load_watchlists(directory)
    except WatchlistError as err:
        for problem in err.problems:
            print(problem)
        print(f"{len(err.problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"ok: {len(wl.files)} file(s), {len(wl.sources)} source(s), {len(wl.entities)} entit(y/ies), "
          f"{len(wl.claims)} claim(s), {len(wl.channels)} channel(s)")
    for problem in reload_problems(wl, directory):  # a running daemon would refuse this reload
        print(f"warning: {problem}", file=sys.stderr)
    return 0


async def explain(settings: Settings, target: str, *, as_json: bool) -> int:
    """Why an article did or did not alert (monitor/explain.py): exit 1 when it cannot be found."""
    from monitor.explain import NotFound, explain_target, render
    from monitor.watchlist import WatchlistError, load_watchlists
    from storage.repository import Repository

    try:
        wl = load_watchlists(settings.watchlists)
    except WatchlistError as err:
        print(err, file=sys.stderr)
        return 2
    repo = await Repository.open(settings.db_url)
    try:
        x = await explain_target(target, repo, wl, settings)
    except NotFound as err:
        return _fail(str(err), 1)
    finally:
        await repo.close()
    print(json.dumps(x.to_dict(), ensure_ascii=False) if as_json else render(x))
    return 0


async def match(settings: Settings, inputs: list[str], *, as_json: bool) -> int:
    from matcher.assess import assess
    from monitor.batch import explained
    from monitor.watchlist import WatchlistError, load_watchlists

    try:
        wl = load_watchlists(settings.watchlists)
    except WatchlistError as err:
        print(err, file=sys.stderr)
        return 2
    status = 0
    for item in inputs:
        try:
            title, text, outlet = await _read_article(item, settings)
        except (OSError, ValueError) as err:
            print(f"{item}: {err}", file=sys.stderr)
            status = 1
            continue
        assessments = assess(title, text, wl.claims, wl.entities, outlet=outlet)
        findings = [f for a in assessments for f in a.findings]
        if as_json:
            print(json.dumps({"input": item, "title": title, "outlet": outlet,
                              "findings": [asdict(f) for f in findings],
                              "assessments": [{"claim_id": a.claim_id, **explained(a)}
                                              for a in assessments]},
                             ensure_ascii=False))
            continue
        print(f"{item}: {title!r}")
        if not findings:
            print("  no tracked claim referenced")
        for a in assessments:
            if not any(f.claim_id == a.claim_id for f in findings):
                continue
            who = f"{a.party} " if a.party else ""
            print(f"  [{a.claim_id}] overall: {who}{a.stance} (score {a.score:.2f}, cue {a.cue!r})")
            for f in findings:
                if f.claim_id == a.claim_id:
                    who = f.party or "(no named party)"
                    print(f"    {who} {f.stance} — cue {f.cue!r}\n        {f.quote}")
                    if f.context:
                        print(f"        (reported in: {f.context})")
    return status


async def _read_article(item: str, settings: Settings) -> tuple[str, str, str | None]:
    """A URL is fetched and extracted; an .html file is extracted; a text file is 'title\\n\\nbody'."""
    from monitor.extract import extract_article
    from monitor.fetch import Fetcher, FetchError, make_session

    if item.startswith(("http://", "https://")):
        async with make_session(settings.fetch) as session:
            try:
                response = await Fetcher(session, settings.fetch).get(item, allow_private=True)
            except FetchError as err:
                raise ValueError(str(err)) from err
        article = extract_article(response.body, response.url)
        if article is None:
            raise ValueError("no article text found on the page")
        return article.title, article.text, article.site_name
    path = Path(item)
    raw = path.read_bytes()
    if path.suffix.lower() in (".html", ".htm"):
        article = extract_article(raw, path.resolve().as_uri())
        if article is None:
            raise ValueError("no article text found in the HTML")
        return article.title, article.text, article.site_name
    lines = raw.decode("utf-8", errors="replace").strip().splitlines()
    if not lines:
        raise ValueError("empty file")
    return lines[0].lstrip("# ").strip(), "\n".join(lines[1:]).strip(), None


async def status(settings: Settings) -> int:
    """What ops ask first: is every source healthy, and is anything stuck in the outbox?
    Source URLs and errors are shown without credentials or query values (monitor/redact.py)."""
    from monitor.daemon import OVERDUE_AFTER_SECONDS
    from monitor.redact import redact, safe_url
    from storage.repository import Repository

    repo = await Repository.open(settings.db_url)
    try:
        sources = await repo.source_states()
        now = datetime.now(UTC)
        outlook = await repo.schedule_outlook(now, OVERDUE_AFTER_SECONDS)
        counts = await repo.delivery_counts()
        incidents = await repo.incidents(open_only=True)
    finally:
        await repo.close()
    failing = 0
    for s in sources:
        if not s.enabled:
            state = "disabled (no longer in the watchlist)"
        elif s.last_error:
            failing += 1
            state = f"FAILING x{s.error_count} [{s.last_error_kind}] {redact(s.last_error)}"
        else:
            state = f"ok, last success {_when(s.last_success_at)}"
        print(f"{s.name} <{safe_url(s.url)}>: {state}; next poll {_when(s.next_due_at)}")
    if outlook.overdue and outlook.oldest_due_at is not None:  # a backlog: polls run behind
        late = (now - outlook.oldest_due_at).total_seconds()
        print(f"overdue: {outlook.overdue} source(s) more than {OVERDUE_AFTER_SECONDS:g}s past due, "
              f"the oldest due {_when(outlook.oldest_due_at)} ({late:.0f}s ago)")
    else:
        print(f"overdue: none (no source more than {OVERDUE_AFTER_SECONDS:g}s past due)")
    print("outbox: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    for i in incidents:  # what the ops channel was told (monitor/ops.py)
        print(f"open incident since {_when(i.opened_at)}: {i.kind.replace('_', ' ')}: {i.subject}")
    idle = not any(s.enabled for s in sources)
    if idle:  # e.g. the watchlist lost every source: nothing is being monitored
        print("no source is enabled: nothing is being polled")
    return 1 if failing or idle or counts.get("failed") else 0


def _when(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if at else "never"


def health(settings: Settings, max_age: float) -> int:
    beat = settings.heartbeat_file
    if beat is None:
        print("no heartbeat file configured (CLAIMWATCH_HEARTBEAT)", file=sys.stderr)
        return 1
    try:
        last = datetime.fromisoformat(beat.read_text().strip())
    except (OSError, ValueError) as err:
        print(f"unhealthy: cannot read heartbeat {beat}: {err}", file=sys.stderr)
        return 1
    age = (datetime.now(UTC) - last).total_seconds()
    if age > max_age:
        print(f"unhealthy: last heartbeat {age:.0f}s ago (limit {max_age:.0f}s)", file=sys.stderr)
        return 1
    print(f"healthy: last heartbeat {age:.0f}s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())

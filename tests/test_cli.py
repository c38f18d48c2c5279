"""The command line a newcomer meets on day one: version, options, log format, clear errors."""
from __future__ import annotations

import argparse
import json
import logging
import socket
from pathlib import Path

from monitor.cli import _parser
from monitor.cycles import CycleTally
from monitor.logs import JsonFormatter
from monitor.pipeline import PollResult
from tests.support import REPO, claimwatch
from tests.test_daemon import watchlist_dir

QUIET = {"CLAIMWATCH_LOG_LEVEL": "WARNING"}


def lines(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln.strip()]


async def test_version_and_help_text_on_every_option_of_every_command() -> None:
    code, out = await claimwatch("--version", env={})
    assert code == 0 and out.strip() == "claimwatch 0.1.0", out
    parser = _parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(commands.choices) == {"run", "check", "match", "explain", "stance", "status", "health"}
    for name, command in {"": parser, **commands.choices}.items():
        for action in command._actions:
            assert action.help, f"claimwatch {name} {action.option_strings or action.dest}: no help text"
        assert any("--log-level" in a.option_strings for a in command._actions), name


async def test_log_level_after_the_command_works_and_a_bad_one_is_a_one_line_error() -> None:
    code, out = await claimwatch("check", "--watchlists", str(REPO / "watchlists"), "--log-level", "debug", env={})
    assert code == 0 and out.startswith("ok:"), out
    code, out = await claimwatch("check", "--log-level", "loud", env={})
    assert code == 2 and lines(out) == ["claimwatch: error: log level 'loud' is not one of DEBUG, INFO, WARNING, ERROR"]


async def test_status_never_creates_a_missing_sqlite_file_and_bad_databases_are_one_masked_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    code, out = await claimwatch("status", "--db", f"sqlite+aiosqlite:///{missing}", env={})
    assert code == 2 and lines(out)[0].startswith(f"claimwatch: error: no database at {missing}"), out
    assert len(lines(out)) == 1 and not missing.exists()
    for url, shown in (("postgresql+asyncpg://postgres:s3cret@127.0.0.1:1/x", "postgres:***@127.0.0.1:1/x"),
                       ("mysql+nothing://root:s3cret@db/x", "root:***@db/x")):
        code, out = await claimwatch("status", "--db", url, env={})
        assert code == 2 and len(lines(out)) == 1, out
        assert out.startswith("claimwatch: error: cannot open the database ") and shown in out, out
        assert "s3cret" not in out and "Traceback" not in out, out


async def test_run_once_exits_3_when_every_source_failed_and_json_logs_are_one_object_a_line(
    tmp_path: Path, sqlite_url: str
) -> None:
    directory = watchlist_dir(tmp_path, [("Dead Wire", "feed", "http://127.0.0.1:1/feed.xml?apikey=s3cret"),
                                         ("Dead Too", "feed", "http://127.0.0.1:1/other.xml")])
    code, out = await claimwatch("run", "--once", "--watchlists", str(directory), "--db", sqlite_url,
                                 env={"CLAIMWATCH_LOG_FORMAT": "json", "CLAIMWATCH_LOG_LEVEL": "INFO",
                                      "CLAIMWATCH_FETCH_TIMEOUT": "2"})
    assert code == 3, out
    records = [json.loads(ln) for ln in lines(out)]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    failed = [r for r in records if r.get("source") == "Dead Wire"]
    assert failed and failed[0]["url"] == "http://127.0.0.1:1/feed.xml?apikey=***", failed
    assert "s3cret" not in out
    assert any("polled 2 source(s): 0 changed, 2 failed" in r["message"] for r in records), records
    assert records[-1]["message"] == "run --once: every source failed (2); exit 3"


async def test_a_bad_watchlist_at_start_is_one_json_record_however_many_lines(tmp_path: Path, sqlite_url: str) -> None:
    directory = watchlist_dir(tmp_path, [("Wire", "feed", "https://example.org/feed.xml")])
    (directory / "sources.yaml").write_text((directory / "sources.yaml").read_text() + "    evry: 5m\n    evrey: 1\n")
    code, out = await claimwatch("run", "--watchlists", str(directory), "--db", sqlite_url,
                                 env={"CLAIMWATCH_LOG_FORMAT": "json"})
    assert code == 2, out
    [record] = [json.loads(ln) for ln in lines(out)]
    assert record["level"] == "ERROR" and record["message"].count("\n") >= 2, record


async def test_a_web_port_in_use_is_a_one_line_refusal_to_start(tmp_path: Path, sqlite_url: str) -> None:
    directory = watchlist_dir(tmp_path, [("Wire", "feed", "https://example.org/feed.xml")])
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out = await claimwatch("run", "--watchlists", str(directory), "--db", sqlite_url,
                                     env={"CLAIMWATCH_HTTP": f"127.0.0.1:{port}", "CLAIMWATCH_LOG_LEVEL": "ERROR"})
    assert code == 2, out
    assert lines(out)[-1].endswith(
        f"refusing to start: cannot serve the desk page on 127.0.0.1:{port}: address already in use "
        "(set CLAIMWATCH_HTTP to another host:port, or to empty to switch the web server off)"), out


def test_json_records_name_source_claim_and_url_and_keep_tracebacks_inside() -> None:
    fmt = JsonFormatter()
    rec = logging.LogRecord("claimwatch.pipeline", logging.WARNING, __file__, 1,
                            "source %r (%s): timed out", ("Moscow Times", "https://u:p@mt.example/rss?key=k"), None)
    out = json.loads(fmt.format(rec))
    assert out["source"] == "Moscow Times" and out["url"] == "https://***@mt.example/rss?key=***", out
    assert "claim" not in out
    rec = logging.LogRecord("claimwatch.daemon", logging.INFO, __file__, 1, "claim %r: no target\nsecond line",
                            ("musk-putin-talks",), None)
    rec.url = "https://x.example/a?t=1"
    out = json.loads(line := fmt.format(rec))
    assert "\n" not in line and out["claim"] == "musk-putin-talks" and out["url"] == "https://x.example/a?t=***"
    try:
        raise RuntimeError("boom at https://x.example/?token=abc")
    except RuntimeError:
        import sys

        rec = logging.LogRecord("claimwatch", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    out = json.loads(line := fmt.format(rec))
    assert "\n" not in line and "RuntimeError" in out["exception"] and "abc" not in out["exception"]


def test_the_cycle_line_says_what_the_polls_did_and_when_the_next_is_due() -> None:
    from datetime import UTC, datetime, timedelta

    tally, now = CycleTally(), datetime(2026, 12, 2, tzinfo=UTC)
    tally.add(PollResult("a", new_articles=2, alerts=1))
    tally.add(PollResult("b", outcome="not_modified"))
    tally.add(PollResult("c", error="down", outcome="failed", error_kind="http"))
    assert tally.take().line(now + timedelta(seconds=42), now) == (
        "polled 3 source(s): 1 changed, 1 failed, 2 new article(s), 1 alert(s); next poll due in 42s")
    assert tally.take().line(now, now) == "polled 0 source(s): 0 changed, 0 new article(s), 0 alert(s); next poll due now"

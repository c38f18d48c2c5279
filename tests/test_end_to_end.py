"""The whole product, as a desk uses it: `claimwatch run --once` from a feed to Slack and email.

Real parts only: a local HTTP newsroom serving the seed articles, a local json:// receiver (what
Slack-like webhooks look like to apprise), a local SMTP server, and the real database
(SQLite and the local PostgreSQL through the `db_url` fixture).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select

from storage.models import Article
from storage.repository import Repository
from tests.newsroom import Newsroom
from tests.receivers import JsonReceiver, SmtpReceiver
from tests.support import REPO, claimwatch

CLAIM = "Elon Musk has held private talks with Vladimir Putin"
EXPECTED = {
    f"Elon Musk denies: {CLAIM}",
    f"Ian Bremmer confirms: {CLAIM}",
    f"The Wall Street Journal confirms: {CLAIM}",
    f"Kremlin denies: {CLAIM}",
}


def watchlist_dir(tmp_path: Path, feeds: dict[str, str]) -> Path:
    """The bundled claim watchlist, verbatim, with sources pointing at the local newsroom."""
    directory = tmp_path / "watchlists"
    directory.mkdir()
    shutil.copy(REPO / "watchlists" / "musk-putin.yaml", directory / "musk-putin.yaml")
    lines = ["sources:"]
    for name, url in feeds.items():
        lines += [f"  - name: {name}", f"    feed: {url}", "    every: 5m", "    allow_private: true",
                  "    backfill: all"]  # a local server; the seed stories are years old
    (directory / "sources.yaml").write_text("\n".join(lines) + "\n")
    return directory


def desk_env(slack: JsonReceiver, smtp: SmtpReceiver, **extra: str) -> dict[str, str]:
    return {"SLACK_DESK_URL": slack.url, "DESK_EMAIL_URL": smtp.url, "CLAIMWATCH_LOG_LEVEL": "INFO", **extra}


async def test_a_feed_of_the_seed_articles_alerts_each_party_exactly_once(tmp_path: Path, db_url: str) -> None:
    async with Newsroom() as news, JsonReceiver() as slack:
        with SmtpReceiver() as smtp:
            wl = watchlist_dir(tmp_path, {"Local Wire": f"{news.base}/feed.xml"})
            args = ("run", "--once", "--watchlists", str(wl), "--db", db_url)
            code, log = await claimwatch(*args, env=desk_env(slack, smtp))
            assert code == 0, log
            assert sorted(m["title"] for m in slack.received) == sorted(EXPECTED), log
            assert sorted(m.subject for m in smtp.messages) == sorted(EXPECTED), log
            kremlin = next(m for m in slack.received if m["title"].startswith("Kremlin"))
            assert f"{news.base}/news/2024/10/25/" in kremlin["message"]
            assert "2024-10-25" in kremlin["message"]
            each_alert_quotes_the_partys_own_words_and_the_claims_standing(slack.received)

            code, log = await claimwatch(*args, env=desk_env(slack, smtp))
            assert code == 0, log
            assert len(slack.received) == 4 and len(smtp.messages) == 4, "a second run must deliver nothing"
            assert news.hits["/feed.xml"] == 2
            assert all(n == 1 for path, n in news.hits.items() if path.startswith("/news/")), news.hits


OWN_WORDS = {  # the seeds served as HTML pages: each party's own words, one clean passage
    "Elon Musk": "“I have spoken to Putin only once and that was about 18 months ago. The subject matter was space.”",
    "Ian Bremmer": "“elon musk told me he had spoken with putin and the kremlin directly about ukraine. "
                   "he also told me what the kremlin’s red lines were.”",
    "The Wall Street Journal": "U.S. billionaire Elon Musk held secret talks with Russian President Vladimir Putin "
                               "throughout the war in Ukraine",
    "Kremlin": "“It’s all untrue.”",
}


def each_alert_quotes_the_partys_own_words_and_the_claims_standing(received: list[dict[str, str]]) -> None:
    """What the desk reads: the party's words first (no headline, dateline or photo credit glued
    on), whether the party is new, and who confirms and who denies so far, in publication order."""
    by_party = {m["title"].split(" confirms: ")[0].split(" denies: ")[0]: m["message"] for m in received}
    for party, words in OWN_WORDS.items():
        body = by_party[party]
        lines = body.splitlines()
        quote = next(line for line in lines if not line.startswith("OLD STORY"))
        assert quote.startswith(words), body
        assert quote.count("“") == quote.count("”"), f"balanced quotation marks: {quote}"
        for debris in ("October 25, 2024", "kremlin.ru", "Air Force", "– WSJ U.S."):
            assert debris not in quote, body
        assert f"New: first time {party} takes a stance on this claim." in body, body
        assert body.startswith("OLD STORY"), "the seeds are years old when claimwatch sees them"
    assert "Confirmed so far by: Ian Bremmer (Local Wire, 2022-10-11); The Wall Street Journal (Local Wire, 2024-10-25)" \
        in by_party["Kremlin"]
    assert "Denied so far by: Elon Musk (Local Wire, 2022-10-11); Kremlin (Local Wire, 2024-10-25)" in by_party["Kremlin"]
    assert "Confirmed so far by" not in by_party["Elon Musk"], "the first alert stands alone"
    assert "Denied so far by: Elon Musk (Local Wire, 2022-10-11)" in by_party["Elon Musk"]
    assert "decided by" not in "".join(by_party.values()) and "musk-putin-talks" not in "".join(by_party.values())


async def test_each_seed_article_records_its_own_stance_on_the_claim_with_a_sentence_as_evidence(
    tmp_path: Path, db_url: str
) -> None:
    async with Newsroom() as news, JsonReceiver() as slack:
        with SmtpReceiver() as smtp:
            wl = watchlist_dir(tmp_path, {"Local Wire": f"{news.base}/feed.xml"})
            code, log = await claimwatch("run", "--once", "--watchlists", str(wl), "--db", db_url,
                                         env=desk_env(slack, smtp))
            assert code == 0, log
            assert sorted(m["title"] for m in slack.received) == sorted(EXPECTED), log
    repo = await Repository.open(db_url)
    try:
        assessments = await repo.assessments()
        async with repo.engine.connect() as conn:
            articles = {a.id: a for a in (await conn.execute(select(Article))).all()}
    finally:
        await repo.close()
    assert len(articles) == 2, articles
    assert sorted(a.article_id for a in assessments) == sorted(articles), "one stance per seed article"
    for a in assessments:
        article = articles[a.article_id]
        assert a.claim_id == "musk-putin-talks"
        assert a.stance in ("confirms", "denies", "discusses"), a
        flat = " ".join(f"{article.title}\n{article.text}".split())
        assert a.evidence.strip() and " ".join(a.evidence.split()) in flat, a
        assert 0 < a.score <= 1, a
    # Musk's own denial is the decisive stance of the 2022 article, held by him.
    denial = next(a for a in assessments if "Denies" in articles[a.article_id].title)
    assert (denial.stance, denial.party) == ("denies", "Elon Musk"), denial


async def test_alerts_wait_while_the_receiver_is_down_and_are_delivered_once_when_it_is_back(
    tmp_path: Path, db_url: str
) -> None:
    async with Newsroom() as news, JsonReceiver() as slack:
        with SmtpReceiver() as smtp:
            wl = watchlist_dir(tmp_path, {"Local Wire": f"{news.base}/feed.xml"})
            args = ("run", "--once", "--watchlists", str(wl), "--db", db_url)
            slack.down()
            code, log = await claimwatch(*args, env=desk_env(slack, smtp))
            assert code == 0, log
            assert slack.received == [] and len(smtp.messages) == 4
            repo = await Repository.open(db_url)
            try:
                counts = await repo.delivery_counts()
            finally:
                await repo.close()
            assert counts.get("pending") == 4 and counts.get("sent") == 4, counts

            slack.up()
            code, log = await claimwatch(*args, env=desk_env(slack, smtp))
            assert code == 0, log
            assert sorted(m["title"] for m in slack.received) == sorted(EXPECTED), log
            assert len(smtp.messages) == 4, "email was already delivered and must not be sent again"

            code, log = await claimwatch(*args, env=desk_env(slack, smtp))
            assert len(slack.received) == 4 and len(smtp.messages) == 4


async def test_broken_feeds_leave_a_clear_error_on_their_source_and_the_others_are_processed(
    tmp_path: Path, db_url: str
) -> None:
    async with Newsroom(slow_seconds=5) as news, JsonReceiver() as slack:
        with SmtpReceiver() as smtp:
            wl = watchlist_dir(tmp_path, {
                "Erroring Feed": f"{news.base}/broken/500",
                "Slow Feed": f"{news.base}/broken/slow",
                "Not A Feed": f"{news.base}/broken/html",
                "Local Wire": f"{news.base}/feed.xml",
            })
            env = desk_env(slack, smtp, CLAIMWATCH_FETCH_TIMEOUT="1")
            code, log = await claimwatch("run", "--once", "--watchlists", str(wl), "--db", db_url, env=env)
            assert code == 0, log
            assert sorted(m["title"] for m in slack.received) == sorted(EXPECTED), log

            repo = await Repository.open(db_url)
            try:
                states = {s.name: s for s in await repo.source_states()}
            finally:
                await repo.close()
            assert states["Local Wire"].last_error is None
            assert states["Erroring Feed"].last_error_kind == "http"
            assert "500" in (states["Erroring Feed"].last_error or "")
            assert states["Slow Feed"].last_error_kind == "timeout"
            assert states["Not A Feed"].last_error_kind == "not-a-feed"
            assert "not an RSS/Atom feed" in (states["Not A Feed"].last_error or "")
            for name in ("Erroring Feed", "Slow Feed", "Not A Feed"):
                assert states[name].error_count == 1
                assert name in log, f"the log must name the failing source {name!r}"

            code, report = await claimwatch("status", "--db", db_url, env={})
            assert code == 1, "status exits 1 while a source is failing"
            assert f"Erroring Feed <{news.base}/broken/500>: FAILING x1 [http] HTTP 500" in report
            assert "Local Wire" in report and "outbox: 0 failed, 0 pending, 8 sent" in report


async def test_check_prints_every_mistake_with_its_file_and_line(tmp_path: Path) -> None:
    directory = tmp_path / "watchlists"
    directory.mkdir()
    (directory / "desk.yaml").write_text(
        "sources:\n"
        "  - name: Wire\n"
        "    feed: https://example.org/rss\n"
        "    evry: 5m\n"
        "entities:\n"
        "  - name: Elon Musk\n"
        "claims:\n"
        "  - id: musk-talks\n"
        "    statement: Elon Musk has held private talks with Vladimir Putin\n"
        "    entities: [Elon Musk, Vladimir Putin]\n"
    )
    code, out = await claimwatch("check", "--watchlists", str(directory), env={})
    assert code == 1, out
    assert f"{directory / 'desk.yaml'}:4: unknown key 'evry'" in out
    assert f"{directory / 'desk.yaml'}:10: claim 'musk-talks': unknown entity 'Vladimir Putin'" in out


async def test_the_bundled_watchlist_passes_check() -> None:
    code, out = await claimwatch("check", "--watchlists", str(REPO / "watchlists"), env={})
    assert code == 0, out

"""`claimwatch explain` and /api/v1/explain: why an article did or did not alert.

The explanation replays the engine on the real watchlist and seed articles, and its decision
part reads the stances really stored (SQLite and PostgreSQL).
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from matcher.assess import assess
from monitor.daemon import routing
from monitor.explain import explain, explain_target, render
from monitor.extract import content_hash
from monitor.settings import Settings
from monitor.watchlist import Watchlist, load_watchlists
from storage.explaining import held_stances
from storage.records import ArticleRecord, SourceSpec
from storage.repository import Repository
from tests.support import REPO, claimwatch, seed
from web.app import WebState, make_app, start

SEEN = datetime(2024, 10, 25, 9, 20, tzinfo=UTC)
# Names both people of the claim, says nothing about it: the matcher must find no claim here.
DECOY = ("Tesla shares rise as Putin visits China",
         ("Tesla shares rose on Monday after Elon Musk unveiled a new electric truck at a factory in "
         "Austin, Texas. Investors cheered the launch. Separately, Russian President Vladimir Putin "
         "arrived in Beijing for a two-day state visit, where he was greeted by Xi Jinping. Analysts "
         "said markets were calm and oil prices steady."))


def watchlist() -> Watchlist:
    return load_watchlists(REPO / "watchlists", env={})


def seed_article(name: str = "004_2444ca2dfe6ef90e.txt") -> tuple[str, str]:
    lines = seed(name).read_text(encoding="utf-8").strip().splitlines()
    return lines[0].lstrip("# ").strip(), "\n".join(lines[1:]).strip()


async def store(repo: Repository, wl: Watchlist, url: str, title: str, text: str) -> int:
    """Take an article in as the daemon does: the engine's findings, its alerts."""
    await repo.sync_sources([SourceSpec("The Moscow Times", "feed", "https://mt.example/rss", 300)], SEEN)
    [source] = await repo.source_states()
    assessments = assess(title, text, wl.claims, wl.entities, "The Moscow Times")
    findings = [f for a in assessments for f in a.findings]
    record = ArticleRecord(source.id, url, content_hash(text), title, text, "The Moscow Times",
                           SEEN - timedelta(minutes=5), SEEN)
    stored = await repo.store_article(record, findings, routing(wl), SEEN, assessments)
    assert stored is not None
    return stored[0]


def test_a_decoy_naming_both_people_is_explained_as_unrelated_and_never_alerts() -> None:
    wl = watchlist()
    x = explain(*DECOY, wl.claims, wl.entities, outlet="Wire", options=wl.claim_options)
    [claim] = x.claims
    assert claim.claim_id == "musk-putin-talks" and not claim.passages and not claim.decisions
    assert {e.name for e in claim.entities if e.found} == {"Elon Musk", "Vladimir Putin"}
    assert claim.unrelated.startswith("unrelated: it names Elon Musk in sentence(s) 1; Vladimir Putin"), claim
    assert "never uses the claim's predicate (" in claim.unrelated
    assert "decide: no alert" in render(x) and claim.unrelated in render(x)


def test_every_cue_of_a_referencing_sentence_says_which_rule_kept_or_dropped_it() -> None:
    wl = watchlist()
    x = explain(*seed_article(), wl.claims, wl.entities, outlet="The Moscow Times", options=wl.claim_options)
    [claim] = x.claims
    assert not claim.unrelated and claim.passages
    cues = [c for p in claim.passages for c in p.cues]
    kremlin = [c for c in cues if c.holder == "Kremlin" and c.kind == "deny"]
    assert kremlin and all(not c.dropped for c in kremlin), cues
    assert any(c.dropped.startswith("does not govern") for c in cues), cues
    assert {(d.party, d.stance, d.outcome) for d in claim.decisions} >= {
        ("Kremlin", "denies", "would alert: new party"),
        ("The Wall Street Journal", "confirms", "would alert: new party")}


async def test_a_repeated_stance_is_explained_as_no_alert_already_known(repo: Repository) -> None:
    wl = watchlist()
    title, text = seed_article()
    first = await store(repo, wl, "https://mt.example/2024/10/25/musk-putin", title, text)

    # The stored article itself raised the alerts…
    x = await explain_target(str(first), repo, wl, Settings())
    outcomes = {d.party: d.outcome for d in x.claims[0].decisions}
    assert outcomes["Kremlin"].startswith("alert #") and outcomes["Kremlin"].endswith("new party"), outcomes
    assert x.article_id == first

    # …the same statements again, in another outlet's copy, alert nobody.
    copy = explain(f"{title} (syndicated)", text + "\n\nThis story first appeared in The Moscow Times.",
                   wl.claims, wl.entities, outlet="Wire", options=wl.claim_options,
                   held=await held_stances(repo.engine, ["musk-putin-talks"]))
    outcomes = {d.party: d.outcome for d in copy.claims[0].decisions}
    assert outcomes["Kremlin"] == "no alert: already known (Kremlin denies since 2024-10-25)", outcomes
    assert all(o.startswith("no alert: already known") for o in outcomes.values()), outcomes


async def test_the_explain_command_and_the_api_answer_for_a_stored_article(tmp_path: Path, sqlite_url: str) -> None:
    wl = watchlist()
    title, text = seed_article()
    repo = await Repository.open(sqlite_url)
    try:
        article_id = await store(repo, wl, "https://mt.example/2024/10/25/musk-putin", title, text)
        runner, base = await start(make_app(WebState(repo, lambda: wl, Settings(), SEEN)), "127.0.0.1:0")
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}api/v1/explain", params={"article": str(article_id)}) as r:
                    assert r.status == 200, await r.text()
                    body = await r.json()
                async with http.get(f"{base}api/v1/explain",
                                    params={"url": "https://mt.example/never-stored"}) as r:
                    assert r.status == 404 and "not stored" in (await r.json())["error"]
                async with http.get(f"{base}api/v1/explain", params={"article": "x"}) as r:
                    assert r.status == 400
                async with http.get(f"{base}api/v1/openapi.json") as r:
                    assert "/api/v1/explain" in (await r.json())["paths"]
        finally:
            await runner.cleanup()
    finally:
        await repo.close()
    assert body["article_id"] == article_id
    assert {d["party"] for d in body["claims"][0]["decisions"]} >= {"Kremlin", "The Wall Street Journal"}

    code, out = await claimwatch("explain", str(article_id), "--db", sqlite_url, "--watchlists",
                                 str(REPO / "watchlists"), "--json", env={"CLAIMWATCH_LOG_LEVEL": "WARNING"})
    assert code == 0, out
    [line] = [ln for ln in out.splitlines() if ln.startswith("{")]
    assert json.loads(line)["claims"][0]["decisions"] == body["claims"][0]["decisions"]
    code, out = await claimwatch("explain", "999", "--db", sqlite_url, env={})
    assert code == 1 and "claimwatch: error: no article #999 is stored" in out, out

"""What the desk reads: alerts, digests and ops notices rendered per target with Jinja2 templates."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from alerts import render
from alerts.render import alert_message, digest_message, notice_message, template_problems
from monitor.watchlist import WatchlistError, load_watchlists
from storage.records import PendingDelivery, StandingEntry
from tests.support import claimwatch

T0 = datetime(2024, 10, 25, 9, 20, tzinfo=timezone.utc)
TITLE = "Kremlin denies: Elon Musk has held private talks with Vladimir Putin"
URL = "https://www.themoscowtimes.com/2024/10/25/elon-musk-held-secret-talks-a86805"
SLACK, DISCORD, MATTERMOST = "slack://T000/B000/XXXX", "discord://1234/abcd", "mmost://127.0.0.1:1/tok"
JSON, EMAIL, NTFY = "json://127.0.0.1:1/hook", "mailto://127.0.0.1:1?from=a@example.org&to=b@example.org", "ntfy://topic"
ALL = (SLACK, DISCORD, MATTERMOST, JSON, EMAIL, NTFY)


def alert(**changes: object) -> PendingDelivery:
    base = PendingDelivery(
        id=1, alert_id=11, channel="desk", target_key="k", target_label="json://…", attempts=0,
        claim_id="musk-putin-talks", statement="Elon Musk has held private talks with Vladimir Putin",
        party="Kremlin", stance="denies", quote="“It's all untrue,” Peskov said.", cue="denied",
        outlet="The Moscow Times", article_title="Elon Musk Held Secret Talks With Putin – WSJ",
        article_url=URL, published_at=datetime(2024, 10, 25, 9, 15, tzinfo=timezone.utc), alerted_at=T0,
        context="The Kremlin later on Friday denied the allegations in WSJ's report.",
        seen_at=datetime(2024, 10, 25, 9, 18, tzinfo=timezone.utc),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# --- the title is a contract -----------------------------------------------------------------


@pytest.mark.parametrize("url", [JSON, EMAIL, NTFY, DISCORD])
def test_the_title_is_exactly_party_stance_statement_on_every_target(url: str) -> None:
    assert alert_message(alert(), url).title == TITLE


def test_slack_leads_with_the_title_linked_to_the_article_in_mrkdwn() -> None:
    m = alert_message(alert(), SLACK)
    assert m.body.splitlines()[0] == f"*<{URL}|{TITLE}>*"
    assert (m.body_format, m.passthrough, m.target) == ("markdown", True, "slack")


def test_mattermost_leads_with_the_title_as_a_markdown_link() -> None:
    assert alert_message(alert(), MATTERMOST).body.splitlines()[0] == f"**[{TITLE}]({URL})**"


def test_a_pathological_statement_is_cut_but_the_title_keeps_its_words() -> None:
    m = alert_message(alert(statement="Musk talked " * 100), JSON)
    assert m.title.startswith("Kremlin denies: Musk talked Musk talked") and m.title.endswith("…")
    assert len(m.title) <= render.MAX_TITLE


# --- the body in a desk's words -----------------------------------------------------------------


@pytest.mark.parametrize("url", ALL)
def test_confirmations_are_green_and_denials_red(url: str) -> None:
    assert alert_message(alert(stance="confirms"), url).notify_type == "success"
    assert alert_message(alert(stance="denies"), url).notify_type == "failure"


def test_body_shows_the_quote_the_reporting_sentence_outlet_headline_link_and_times() -> None:
    lines = alert_message(alert(), JSON).body.splitlines()
    assert lines == [
        "“It's all untrue,” Peskov said.",
        "The Kremlin later on Friday denied the allegations in WSJ's report.",
        "New: first time Kremlin takes a stance on this claim.",
        "The Moscow Times: Elon Musk Held Secret Talks With Putin – WSJ",
        URL,
        "Published 2024-10-25 09:15 UTC, seen 2024-10-25 09:18 UTC",
    ]


def test_body_has_no_internal_words_or_ids() -> None:
    for url in ALL:
        text = alert_message(alert(), url).body
        assert "decided by" not in text and "musk-putin-talks" not in text and "generation" not in text


def test_a_direct_quotation_keeps_its_own_marks_inner_marks_included() -> None:
    quote = "“He said ‘never’ and “never again”,” Peskov said."
    assert alert_message(alert(quote=quote), JSON).body.splitlines()[0] == quote


def test_a_reported_sentence_is_not_dressed_up_as_a_quotation() -> None:
    sentence = "Kremlin spokesman Dmitry Peskov denied the report on Friday."
    first = alert_message(alert(quote=sentence, context=""), JSON).body.splitlines()[0]
    assert first == sentence


def test_a_long_quote_is_cut_and_its_quotation_marks_stay_balanced() -> None:
    quote = "“" + "It is all untrue. " * 200 + "”"
    first = alert_message(alert(quote=quote), JSON).body.splitlines()[0]
    assert first.startswith("“It is all untrue.") and first.endswith("…”")
    assert len(first) <= render.MAX_QUOTE + 1


def test_a_switch_says_what_the_party_held_and_since_when() -> None:
    d = alert(generation=2, previous_stance="confirms", previous_since=datetime(2024, 10, 3, tzinfo=timezone.utc))
    assert "Switched: Kremlin confirmed this claim since 2024-10-03, now denies it." in alert_message(d, JSON).body


def test_the_standing_lists_who_confirms_and_who_denies_with_outlet_and_date() -> None:
    d = alert(standing=(StandingEntry("Kremlin", "denies", "The Moscow Times", datetime(2024, 10, 25)),
                        StandingEntry("The Wall Street Journal", "confirms", "WSJ", datetime(2024, 10, 24)),
                        StandingEntry("Ian Bremmer", "confirms", "X", None)))
    text = alert_message(d, JSON).body
    assert "Confirmed so far by: The Wall Street Journal (WSJ, 2024-10-24); Ian Bremmer (X)" in text
    assert "Denied so far by: Kremlin (The Moscow Times, 2024-10-25)" in text


@pytest.mark.parametrize("url", ALL)
def test_a_standing_of_hundreds_names_the_latest_few_and_counts_the_others_on_every_target(url: str) -> None:
    shown = tuple(StandingEntry(f"Official {i}", "confirms", "Wire", datetime(2024, 10, i + 1)) for i in range(8))
    d = alert(standing=(*shown, StandingEntry("Kremlin", "denies", "TASS", None)),
              standing_total={"confirms": 311, "denies": 1})
    body = alert_message(d, url).body
    assert "Official 7" in body and "and 303 more" in body
    assert "more" not in body.split("Kremlin")[1].split("\n")[0]  # every denial is named: nothing to count


@pytest.mark.parametrize("url", ALL)
def test_an_old_story_is_marked_on_every_target(url: str) -> None:
    assert "old story" in alert_message(alert(stale=True), url).body.lower()
    assert "old story" not in alert_message(alert(stale=False), url).body.lower()


def test_times_are_utc_and_an_unknown_publication_time_says_so() -> None:
    cest = timezone(timedelta(hours=2))
    assert "Published 2024-10-25 10:00 UTC" in alert_message(
        alert(published_at=datetime(2024, 10, 25, 12, 0, tzinfo=cest)), JSON).body
    assert "Published at an unknown time" in alert_message(alert(published_at=None), JSON).body


def test_email_is_html_with_the_title_linked_and_the_claim_thread_headers() -> None:
    m = alert_message(alert(), EMAIL)
    assert m.body_format == "html" and m.title == TITLE
    assert f'<a href="{URL}">{TITLE}</a>' in m.body
    assert m.headers == {"In-Reply-To": "<claim.musk-putin-talks@claimwatch>",
                         "References": "<claim.musk-putin-talks@claimwatch>"}
    other = alert_message(alert(claim_id="other-claim"), EMAIL)
    assert other.headers["References"] != m.headers["References"]


def test_email_html_escapes_article_text() -> None:
    body = alert_message(alert(quote="<script>alert(1)</script> <b>bold</b>", article_title="A & B"), EMAIL).body
    assert "<script>" not in body and "<b>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt;" in body and "A &amp; B" in body


def test_an_article_url_that_is_not_http_is_never_linked() -> None:
    for url in (SLACK, DISCORD, EMAIL):
        body = alert_message(alert(article_url="javascript:alert(1)"), url).body
        assert "](javascript" not in body and "<javascript" not in body and 'href="javascript' not in body


def test_an_article_url_reaches_every_target_intact_and_linked() -> None:
    url = "https://medium.com/@someone/kremlin-denies-talks-a86805?utm=x&ref=feed"
    assert url in alert_message(alert(article_url=url), JSON).body.splitlines()
    assert f"<{url}|" in alert_message(alert(article_url=url), SLACK).body
    assert f"]({url})" in alert_message(alert(article_url=url), DISCORD).body
    assert f'href="{url.replace("&", "&amp;")}"' in alert_message(alert(article_url=url), EMAIL).body


def test_link_breaking_characters_in_an_article_url_are_percent_encoded() -> None:
    body = alert_message(alert(article_url="https://x.example/a|<!channel>"), SLACK).body
    assert "<https://x.example/a%7C%3C!channel%3E|" in body and "<!channel>" not in body


# --- digests and notices ---------------------------------------------------------------------------


def test_a_digest_groups_alerts_by_claim_in_time_order_under_its_heading() -> None:
    items = [
        alert(id=3, party="Elon Musk", stance="denies", alerted_at=T0 + timedelta(minutes=30)),
        alert(id=1, alerted_at=T0),
        alert(id=2, claim_id="other", statement="Putin met Trump", party="Kremlin", alerted_at=T0 + timedelta(minutes=10)),
    ]
    m = digest_message(items, JSON, "Hourly digest, 09:00–10:00 UTC: 3 alerts")
    assert m.title == "Hourly digest, 09:00–10:00 UTC: 3 alerts"
    lines = m.body.splitlines()
    musk = lines.index("Elon Musk has held private talks with Vladimir Putin")
    trump = lines.index("Putin met Trump")
    first = lines.index("* Kremlin denies: Elon Musk has held private talks with Vladimir Putin")
    second = lines.index("* Elon Musk denies: Elon Musk has held private talks with Vladimir Putin")
    assert musk < first < second < trump


def test_a_digest_on_slack_is_mrkdwn_with_each_headline_linked() -> None:
    m = digest_message([alert(), alert(id=2)], SLACK, "7 more alerts held back by the rate limit")
    assert m.body.startswith("*7 more alerts held back by the rate limit*")
    assert m.body.count(f"<{URL}|Elon Musk Held Secret Talks With Putin – WSJ>") == 2


def test_a_huge_digest_stays_within_slacks_section_limit() -> None:
    m = digest_message([alert(id=i) for i in range(200)], SLACK, "200 alerts")
    assert len(m.body) <= 3000 and m.body.endswith("…")


@pytest.mark.parametrize("severity,notify_type", [("warning", "warning"), ("failure", "failure"), ("success", "success")])
def test_ops_notices_carry_their_severity(severity: str, notify_type: str) -> None:
    m = notice_message("Source failing: The Moscow Times", "HTTP 503 since 06:00 UTC", SLACK, severity)
    assert m.notify_type == notify_type
    assert m.body.splitlines() == ["*Source failing: The Moscow Times*", "HTTP 503 since 06:00 UTC"]


def test_ops_notice_text_from_outside_is_neutralised_too() -> None:
    body = "server said: <!channel> <b>down</b>"
    assert "<!channel>" not in notice_message("Source failing", body, SLACK, "failure").body
    assert "<b>" not in notice_message("Source failing", body, EMAIL, "failure").body


# --- a channel's own template ------------------------------------------------------------------


def test_a_channels_own_template_renders_with_the_alert_variables(tmp_path: Path) -> None:
    t = tmp_path / "desk.j2"
    t.write_text("{{ alert.party }} / {{ alert.stance }} / {{ alert.outlet }}\n{{ alert.url | link(alert.headline) }}\n")
    m = alert_message(alert(), SLACK, t)
    assert m.body == f"Kremlin / denies / The Moscow Times\n<{URL}|Elon Musk Held Secret Talks With Putin – WSJ>"
    assert m.title == TITLE


def test_a_channels_own_template_cannot_forget_to_neutralise(tmp_path: Path) -> None:
    t = tmp_path / "desk.j2"
    t.write_text("{{ alert.quote }}")
    assert alert_message(alert(quote="<!channel> hi"), SLACK, t).body == "&lt;!channel&gt; hi"
    assert alert_message(alert(quote="<b>hi</b>"), EMAIL, t).body == "&lt;b&gt;hi&lt;/b&gt;"


def test_an_alert_only_template_renders_each_alert_of_a_digest(tmp_path: Path) -> None:
    t = tmp_path / "desk.j2"
    t.write_text("> {{ alert.title }}")
    m = digest_message([alert(), alert(id=2, party="Elon Musk")], JSON, "Daily digest: 2 alerts", t)
    assert m.body.splitlines() == [
        "Daily digest: 2 alerts", "", "Elon Musk has held private talks with Vladimir Putin", "",
        f"> {TITLE}", "", "> Elon Musk denies: Elon Musk has held private talks with Vladimir Putin",
    ]


def test_template_problems_name_the_line_of_a_syntax_error(tmp_path: Path) -> None:
    t = tmp_path / "broken.j2"
    t.write_text("line one\n{{ alert.title }\nline three\n")
    [(line, message)] = template_problems(t)
    assert line == 2 and "syntax" in message


def test_template_problems_name_the_line_that_fails_on_a_sample_alert(tmp_path: Path) -> None:
    t = tmp_path / "broken.j2"
    t.write_text("{{ alert.title }}\n{% if alert.stale %}old{% endif %}\n{{ alert.no_such_field.x }}\n")
    problems = template_problems(t)
    assert problems and problems[0][0] == 3 and "no_such_field" in problems[0][1]


def test_the_bundled_templates_have_no_problems() -> None:
    for t in sorted(render.TEMPLATES.glob("*.j2")):
        if not t.name.startswith(("notice", "parts")):
            assert template_problems(t) == [], t


def test_template_problems_try_the_branches_of_a_new_and_an_old_story(tmp_path: Path) -> None:
    t = tmp_path / "stale.j2"
    t.write_text("{{ alert.title }}\n{% if alert.stale %}{{ alert.stale_since.day }}{% endif %}\n")
    [(line, message)] = template_problems(t)
    assert line == 2 and "stale_since" in message


def test_a_template_failing_at_send_time_falls_back_to_the_bundled_one(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    t = tmp_path / "picky.j2"
    t.write_text("{{ alert.standing.confirms[0].party }}")  # no one confirms yet: IndexError-like
    m = alert_message(alert(), JSON, t)
    assert m.body == alert_message(alert(), JSON).body and m.title == TITLE
    assert "picky.j2" in caplog.text and "bundled" in caplog.text


def _watchlist(tmp_path: Path, template: str, ops: str = "{{ heading }}: {{ lines | join(' ') }}") -> Path:
    (tmp_path / "desk.j2").write_text(template)
    (tmp_path / "ops.j2").write_text(ops)
    (tmp_path / "w.yaml").write_text(
        "channels:\n"
        "  desk:\n"
        "    targets: ['json://127.0.0.1:1/hook']\n"
        "    template: desk.j2\n"
        "ops:\n"
        "  targets: ['json://127.0.0.1:1/ops']\n"
        "  template: ops.j2\n"
    )
    return tmp_path


def test_load_watchlists_reports_a_broken_template_as_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(WatchlistError) as err:
        load_watchlists(_watchlist(tmp_path, "ok\n{% for x in %}\n"), env={})
    shown = [str(p) for p in err.value.problems]
    assert any(s.startswith(f"{tmp_path / 'desk.j2'}:2: template syntax error") for s in shown), shown


def test_a_good_template_loads_as_the_channels_template(tmp_path: Path) -> None:
    wl = load_watchlists(_watchlist(tmp_path, "{{ alert.title }}"), env={})
    assert wl.channel_options["desk"].template == (tmp_path / "desk.j2").resolve()


def test_an_ops_template_is_checked_against_a_sample_notice(tmp_path: Path) -> None:
    with pytest.raises(WatchlistError) as err:
        load_watchlists(_watchlist(tmp_path, "{{ alert.title }}", ops="{{ heading }}\n{{ alert.title }}\n"), env={})
    [problem] = err.value.problems
    assert (problem.path, problem.line) == ((tmp_path / "ops.j2").resolve(), 2)
    assert "sample notice" in problem.message


def test_an_ops_template_renders_notices(tmp_path: Path) -> None:
    t = tmp_path / "ops.j2"
    t.write_text("[{{ severity }}] {{ heading }}: {{ lines | join(' / ') }}")
    m = notice_message("Source failing", "HTTP 503\nsince 06:00", JSON, "failure", t)
    assert m.body == "[failure] Source failing: HTTP 503 / since 06:00" and m.notify_type == "failure"


def test_claimwatch_check_reports_a_broken_template_with_file_and_line(tmp_path: Path) -> None:
    _watchlist(tmp_path, "{{ alert.title }}\n\n{{ alert.nope.deeper }}\n")
    code, out = asyncio.run(claimwatch("check", "--watchlists", str(tmp_path), env={}, timeout=60))
    assert code == 1, out
    assert f"{(tmp_path / 'desk.j2').resolve()}:3: rendering a sample alert" in out, out

"""Pure parsing behaviour: feeds, article extraction, URL canonicalisation, link discovery."""
from __future__ import annotations

import html
import random
import re
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.extract import (
    NotAFeed,
    canonical_url,
    content_hash,
    discover_links,
    extract_article,
    parse_feed,
)
from tests.support import SEED_NAMES
from tests.support import seed as seed_path

# --------------------------------------------------------------------------- feeds

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Example</title><link>https://news.example.com/</link>
<item><title>Musk denies &amp; Bremmer insists</title><link>/world/2024/10/25/musk-denies-talks</link>
  <description>&lt;p&gt;Musk &lt;b&gt;denied&lt;/b&gt;   speaking to Putin.&lt;/p&gt;</description>
  <pubDate>Fri, 25 Oct 2024 14:30:00 +0200</pubDate><guid isPermaLink="false">item-1</guid></item>
<item><title>No link here</title><description>dropped</description></item>
<item><title>Absolute</title><link>https://news.example.com/a/b-c-d-e</link></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Example Atom</title><id>urn:x</id>
<updated>2024-10-25T10:00:00Z</updated>
<entry><title type="html">Kremlin &lt;em&gt;responds&lt;/em&gt;</title><id>urn:entry:1</id>
  <link rel="alternate" href="stories/kremlin-responds-to-report"/>
  <published>2024-10-25T08:15:00-04:00</published><updated>2024-10-26T00:00:00Z</updated>
  <summary>Peskov said the report was false.</summary></entry>
<entry><title>Updated only</title><id>urn:entry:2</id><link href="/x/12345678"/>
  <updated>2024-10-26T09:00:00Z</updated></entry>
</feed>"""


def test_rss_entries_have_resolved_links_plain_summaries_and_utc_dates() -> None:
    entries = parse_feed(RSS, "https://news.example.com/rss.xml")
    assert [e.url for e in entries] == [
        "https://news.example.com/world/2024/10/25/musk-denies-talks",
        "https://news.example.com/a/b-c-d-e",
    ]
    first = entries[0]
    assert first.title == "Musk denies & Bremmer insists"
    assert first.summary == "Musk denied speaking to Putin."
    assert first.published == datetime(2024, 10, 25, 12, 30, tzinfo=UTC)
    assert first.guid == "item-1"
    assert entries[1].published is None and entries[1].guid == entries[1].url


def test_atom_entries_resolve_relative_links_and_prefer_published() -> None:
    entries = parse_feed(ATOM, "https://news.example.com/feeds/atom.xml")
    assert entries[0].url == "https://news.example.com/feeds/stories/kremlin-responds-to-report"
    assert entries[0].title == "Kremlin responds"
    assert entries[0].published == datetime(2024, 10, 25, 12, 15, tzinfo=UTC)
    assert entries[1].url == "https://news.example.com/x/12345678"
    assert entries[1].published == datetime(2024, 10, 26, 9, 0, tzinfo=UTC)


def test_slightly_broken_feed_with_entries_is_still_a_feed() -> None:
    broken = RSS.replace(b"<title>Example</title>", b"<title>Example &nbsp; caf\xe9</title>")
    assert len(parse_feed(broken, "https://news.example.com/rss.xml")) == 2


def test_html_page_is_not_a_feed_with_a_clear_message() -> None:
    page = b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>hi</p></body></html>"
    with pytest.raises(NotAFeed) as info:
        parse_feed(page, "https://news.example.com/feed")
    msg = str(info.value)
    assert msg.startswith("not an RSS/Atom feed: got text/html document starting '<!DOCTYPE html")


@pytest.mark.parametrize("body", [b"", b"   \n", random.Random(1).randbytes(4096), b'{"json": true}'])
def test_garbage_is_not_a_feed(body: bytes) -> None:
    with pytest.raises(NotAFeed, match="not an RSS/Atom feed"):
        parse_feed(body, "https://news.example.com/feed")


# --------------------------------------------------------------------------- articles


def _seed_page(seed: Path) -> tuple[bytes, str, list[str]]:
    """A realistic page around a seed text; returns (html, headline, key paragraphs)."""
    raw = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", seed.read_text(encoding="utf-8"))
    lines = [" ".join(line.split()) for line in raw.splitlines() if line.strip()]
    headline, paras = lines[0].lstrip("# ").strip(), lines[1:]
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paras)
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(headline)} | Daily Example</title>
<link rel="canonical" href="https://www.daily-example.com/world/2024/10/25/{seed.stem}/?utm_source=rss">
<meta property="og:site_name" content="Daily Example">
<meta property="article:published_time" content="2024-10-25T14:30:00+02:00">
<meta name="author" content="Jane Reporter">
<script>window.dataLayer = [{{"page": "article"}}];</script></head>
<body><header><nav><a href="/">Home</a> | <a href="/world">World</a> | <a href="/tag/musk">Musk</a>
 | <a href="/login">Sign in to keep reading our award winning coverage</a></nav></header>
<main><article><h1>{html.escape(headline)}</h1><p class="byline">By Jane Reporter</p>
{body}</article>
<aside><h3>Most read</h3><ul><li><a href="/x/1">Ten cheap flights you must book today</a></li></ul></aside></main>
<footer><p>Copyright 2024 Daily Example Media Group. All rights reserved.</p>
<p>Cookie settings · Privacy policy · Contact us</p></footer></body></html>"""
    key = sorted(paras, key=len, reverse=True)[:2]
    return page.encode("utf-8"), headline, key


def _norm(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name", SEED_NAMES)
def test_article_page_yields_body_text_date_and_canonical_url(name: str) -> None:
    seed = seed_path(name)
    page, headline, key = _seed_page(seed)
    art = extract_article(page, f"https://daily-example.com/w/{seed.stem}?utm_medium=x")
    assert art is not None
    text = _norm(art.text)
    for para in key:
        assert _norm(para)[:120] in text
    assert "All rights reserved" not in text and "Most read" not in text
    assert art.published == datetime(2024, 10, 25, 12, 30, tzinfo=UTC)
    assert art.url == f"https://www.daily-example.com/world/2024/10/25/{seed.stem}"
    assert art.title is not None and headline[:30] in art.title
    assert art.author == "Jane Reporter" and art.site_name == "Daily Example"


def test_a_year_like_number_in_a_headline_does_not_load_every_languages_date_patterns() -> None:
    # htmldate sends "Budget 1995-27" to dateparser; with no language set it would load all 205
    # locales (+35 MB for the daemon's life). A fresh interpreter, so no other test has loaded any.
    script = textwrap.dedent("""
        from dateparser.languages.loader import default_loader
        from monitor.extract import extract_article
        body = "".join(f"<p>Paragraph {i}: the council met on Tuesday and talked for hours.</p>" for i in range(8))
        page = f"<html><head><title>Budget 1995-27 talks</title></head><body><article><h1>Budget 1995-27 talks</h1>{body}</article></body></html>"
        assert extract_article(page.encode(), "https://news.example.com/budget") is not None
        print(sorted(default_loader._loaded_locales))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[1], check=True).stdout
    assert out.strip().splitlines()[-1] in ("[]", "['en']")


def test_canonical_on_another_site_is_ignored() -> None:
    page, _, _ = _seed_page(seed_path(SEED_NAMES[0]))
    page = page.replace(b"https://www.daily-example.com/", b"https://evil.example.org/")
    art = extract_article(page, "https://Daily-Example.com/w/story/#top")
    assert art is not None and art.url == "https://daily-example.com/w/story"


def test_page_without_real_text_is_none() -> None:
    page = b"<html><head><title>Home</title></head><body><nav><a href='/a'>A</a></nav><p>Short.</p></body></html>"
    assert extract_article(page, "https://news.example.com/") is None


_WRONG_CHARSET = (
    '<html><head><meta charset="shift_jis"><title>Caf\u00e9 story</title></head><body><article>'
    + "".join(f"<p>Zo\u00eb\u2019s caf\u00e9 reopened on day {i} \u2014 a na\u00efve r\u00e9sum\u00e9 of events.</p>"
              for i in range(12))
    + "</article></body></html>"
).encode("utf-8")


@pytest.mark.parametrize(
    "page",
    [
        b"",
        b"<html><body>" + b"<div>" * 10_000 + b"deep " * 100 + b"</div>" * 10_000 + b"</body></html>",
        random.Random(0).randbytes(2_000_000),
        b"<html><body>" + b"<p><b>" * 50_000 + b"x</body></html>",
        b"<html><body>" + b"<div><span>x</span></div>" * 50_000 + b"</body></html>",
        b"\x00\xff<html>\x00<<<>>>&&&;</html",
        _WRONG_CHARSET,
    ],
    ids=["empty", "nested-10k", "garbage-2mb", "nested-p-50k", "flat-100k-elements", "binary-html", "wrong-charset"],
)
def test_hostile_pages_do_not_raise_and_stay_fast(page: bytes) -> None:
    started = time.perf_counter()
    art = extract_article(page, "https://news.example.com/a")
    assert time.perf_counter() - started < 2.0
    if page is _WRONG_CHARSET:
        assert art is not None and "caf\u00e9" in art.text


# --------------------------------------------------------------------------- URLs and hashes


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://News.Example.COM/a/b/", "https://news.example.com/a/b"),
        ("https://news.example.com", "https://news.example.com/"),
        ("https://news.example.com/", "https://news.example.com/"),
        ("http://example.com:80/x", "http://example.com/x"),
        ("https://example.com:443/x", "https://example.com/x"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://example.com/x#comments", "https://example.com/x"),
        ("https://example.com/x?utm_source=tw&utm_medium=social&id=7", "https://example.com/x?id=7"),
        ("https://example.com/x?fbclid=abc&gclid=1&mc_cid=2&mc_eid=3&ref=home&cmpid=9", "https://example.com/x"),
        ("https://example.com/x?b=2&a=1&UTM_Campaign=z", "https://example.com/x?a=1&b=2"),
        ("https://example.com/x?q=a%20b&p=%2F", "https://example.com/x?p=%2F&q=a%20b"),
        ("https://example.com./x/", "https://example.com/x"),
        ("https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x"),
        ("  https://example.com/x  ", "https://example.com/x"),
        ("not a url", "not a url"),
        ("http://[::1", "http://[::1"),
    ],
)
def test_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected
    assert canonical_url(expected) == expected  # idempotent


def test_content_hash_ignores_whitespace_and_case_only() -> None:
    a = content_hash("Musk denies   speaking\nto Putin.")
    assert a == content_hash("  MUSK denies speaking to\tputin. ")
    assert a != content_hash("Musk confirms speaking to Putin.")
    assert len(a) == 64


# --------------------------------------------------------------------------- outlet pages

OUTLET = b"""<!doctype html><html><head><title>World news</title></head><body>
<nav><a href="/">Home</a><a href="/world">World</a><a href="/tag/ukraine">Ukraine</a>
<a href="/category/politics">Politics</a><a href="/author/jane-doe-the-reporter">Jane</a>
<a href="/login">Log in</a><a href="/search?q=musk">Search</a><a href="/feed/">RSS</a></nav>
<div class="teasers">
<a href="/world/2024/10/25/musk-putin-talks?utm_source=home">Musk-Putin talks</a>
<a href="https://www.daily-example.com/world/2024/10/25/musk-putin-talks#comments">dupe</a>
<a href="/world/elon-musk-denies-speaking-to-putin">Slug</a>
<a href="https://video.daily-example.com/clips/kremlin-reacts-a86805">Sub-site id</a>
<a href="/news/12345678">Numeric id</a>
<a href="/2024/10/25/">Day archive</a>
<a href="/images/2024/10/25/musk-putin-photo.jpg">photo</a>
<a href="/static/css/main-site-style-sheet.css">css</a>
<a href="/reports/annual-report-for-the-year-2023.pdf">pdf</a>
<a href="https://other-news.com/world/2024/10/25/musk-putin-talks">external</a>
<a href="mailto:tips@daily-example.com">tips</a><a href="javascript:void(0)">x</a>
<a href="/world/">self</a><a href="ftp://daily-example.com/some-long-file-name-here">ftp</a>
<div><p><a href="/world/a-broken-but-valid-article-link">unclosed
</body>"""


def test_discover_links_picks_article_links_in_page_order() -> None:
    links = discover_links(OUTLET, "https://www.daily-example.com/world/")
    assert links == [
        "https://www.daily-example.com/world/2024/10/25/musk-putin-talks",
        "https://www.daily-example.com/world/elon-musk-denies-speaking-to-putin",
        "https://video.daily-example.com/clips/kremlin-reacts-a86805",
        "https://www.daily-example.com/news/12345678",
        "https://www.daily-example.com/world/a-broken-but-valid-article-link",
    ]
    assert discover_links(OUTLET, "https://www.daily-example.com/world/", limit=2) == links[:2]


@pytest.mark.parametrize("page", [b"", b"\x00\x01\x02", b"<html", random.Random(2).randbytes(10_000)])
def test_discover_links_survives_broken_input(page: bytes) -> None:
    assert discover_links(page, "https://www.daily-example.com/") == []

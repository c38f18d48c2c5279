"""Pure parsing: feed bytes → entries, article HTML → text + date, outlet page → article links.

No I/O. `parse_feed`, `extract_article` and `discover_links` are CPU-bound; the pipeline runs
them via `asyncio.to_thread`. Everything here must survive hostile input: pages are written by
strangers, so failures become `NotAFeed` or `None`, never a crash of the daemon.
"""
from __future__ import annotations

import calendar
import functools
import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

import fastfeedparser
import feedparser
import htmldate.extractors
import lxml.html
import trafilatura
from lxml import etree

log = logging.getLogger(__name__)

MIN_ARTICLE_CHARS = 200
MAX_HTML_BYTES = 10_000_000
# trafilatura costs ~0.1-0.25 ms per element; beyond this a page is hostile or a wall of
# widgets, so we narrow it to its <article>/<main> or give up (bounded CPU per page).
MAX_ELEMENTS = 15_000

# ---------------------------------------------------------------------------- URLs

_TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "twclid", "igshid", "mc_cid",
    "mc_eid", "ref", "ref_src", "ref_url", "cmpid", "cmp", "ocid", "ncid", "_ga", "_gl",
    "sr_share", "smid", "smtyp", "at_medium", "at_campaign", "at_custom1", "wt.mc_id",
    "__twitter_impression", "spm", "soc_src", "soc_trk", "mbid", "cid_source",
})
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _is_tracking(key: str) -> bool:
    k = unquote_plus(key).strip().lower()
    return k.startswith(("utm_", "pk_", "mtm_", "hsa_")) or k in _TRACKING_PARAMS


def canonical_url(url: str) -> str:
    """One spelling per article, so dedup works across feeds, shares and tracking links.

    Lowercases scheme/host, drops default ports, fragments and tracking params, sorts the rest
    (raw, so percent-encoding is preserved) and strips a trailing slash except on the root.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if not parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal
        host, _, rest = hostport.partition("]")
        host, port = host + "]", rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    host = host.lower().rstrip(".")
    if port == _DEFAULT_PORTS.get(scheme) or port == "":
        netloc = host
    else:
        netloc = f"{host}:{port}"
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    pairs = [p for p in parts.query.split("&") if p and not _is_tracking(p.partition("=")[0])]
    query = "&".join(sorted(pairs))
    return urlunsplit((scheme, netloc, path, query, ""))


_SHORT_SLDS = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or", "go"})


def site_key(host: str) -> str:
    """Approximate registrable domain ("news.bbc.co.uk" → "bbc.co.uk") without a PSL download."""
    labels = host.lower().rstrip(".").split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SHORT_SLDS:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def same_site(a: str, b: str) -> bool:
    """Whether two hosts belong to the same registrable site (www/subdomains included)."""
    return bool(a) and bool(b) and site_key(a) == site_key(b)


def content_hash(text: str) -> str:
    """sha256 of whitespace-normalised, casefolded NFC text: markup-only differences vanish."""
    norm = " ".join(unicodedata.normalize("NFC", text).split()).casefold()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------- feeds


@dataclass(frozen=True)
class FeedEntry:
    url: str  # absolute link as published (canonicalise for dedup, fetch as is)
    title: str
    summary: str  # plain text
    published: datetime | None  # aware UTC
    guid: str


class NotAFeed(ValueError):
    """The bytes are not an RSS/Atom feed (typically an HTML page or an error page)."""

    kind = "not-a-feed"


class FeedTooCostly(NotAFeed):
    """A feed whose shape would cost unbounded CPU or memory to parse (nested too deep, or too
    many elements before its first item ends): refused before feedparser sees it."""

    kind = "too-costly"


# Feed parsing costs feedparser ~60 µs per element whatever the shape (a 1.2 MB nesting bomb
# took 25 s and 368 MB), so the bytes are scanned first (`_bounded_feed`, a few ms): deeper than
# MAX_FEED_DEPTH is refused; the feed is cut after its MAX_FEED_ITEMS-th item, or after the last
# item that ends within MAX_FEED_ELEMENTS elements (a feed with more than that before its first
# item ends is refused). Real feeds nest < 20 deep, and their newest items come first.
MAX_FEED_DEPTH = 100
MAX_FEED_ITEMS = 1_000
MAX_FEED_ELEMENTS = 20_000
# Caps on what one item or article may store and hand to the matcher.
MAX_TITLE_CHARS = 500
MAX_TEXT_CHARS = 200_000

_TAG_NAME = re.compile(rb"/?([A-Za-z_][-\w.:]*)")
_VOID = frozenset({b"br", b"hr", b"img", b"meta", b"link", b"input", b"area", b"base", b"col",
                   b"embed", b"param", b"source", b"track", b"wbr"})
_ITEM_ENDS = frozenset({b"item", b"entry"})
# Encodings whose "<" is not the byte "<": transcoded to UTF-8 first, so the scan sees the tags.
_WIDE = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
         (b"\xfe\xff", "utf-16"), (b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be"),
         (b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be"), (b"\x4c\x6f\xa7\x94", "cp037"))
_DECLARED = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])[^"']*""")


def _scannable(body: bytes) -> bytes:
    """UTF-16/32 and EBCDIC feeds as UTF-8 (their declaration says so too); others as they are."""
    for mark, codec in _WIDE:
        if body.startswith(mark):
            text = body.decode(codec, "replace").lstrip("\ufeff")
            return _DECLARED.sub(rb"\1utf-8", text.encode("utf-8"), count=1)
    return body


def _bounded_feed(body: bytes) -> bytes:
    """`body`, cut after at most MAX_FEED_ITEMS items (and MAX_FEED_ELEMENTS elements), with
    the open elements closed again; FeedTooCostly if nested deeper than MAX_FEED_DEPTH.

    A tolerant one-pass scan, linear in the bytes it reads: comments, CDATA, declarations and
    processing instructions are skipped whole; an end tag closes up to its start tag (so an
    unclosed <br> or <p> in sloppy markup does not count as nesting); void HTML tags and
    unmatched end tags are ignored; an unterminated construct ends the scan.
    """
    stack: list[bytes] = []
    elements = items = 0
    cut: tuple[int, int] | None = None  # (byte offset after an item's end tag, stack depth)
    full = False  # stopped at a cap: cut the body at `cut`
    pos, n = 0, len(body)
    while pos < n:
        i = body.find(b"<", pos)
        if i < 0:
            break
        if body.startswith(b"<!--", i):
            j = body.find(b"-->", i + 4)
            pos = n if j < 0 else j + 3
            continue
        if body.startswith(b"<![CDATA[", i):
            j = body.find(b"]]>", i + 9)
            pos = n if j < 0 else j + 3
            continue
        j = body.find(b">", i + 1)
        if j < 0:
            break
        pos = j + 1
        m = _TAG_NAME.match(body, i + 1, j)
        if m is None:  # <!DOCTYPE …>, <?xml …?>, a stray "<"
            continue
        name = m.group(1)
        if body[i + 1] == 0x2F:  # "/": an end tag
            if name in stack:
                while stack.pop() != name:
                    pass
                local = name.rpartition(b":")[2].lower()
                if local in _ITEM_ENDS:
                    items += 1
                    cut = (pos, len(stack))
                    if items >= MAX_FEED_ITEMS:
                        full = True
                        break
            continue
        elements += 1
        if elements > MAX_FEED_ELEMENTS:
            if cut is None:
                raise FeedTooCostly(f"feed refused: more than {MAX_FEED_ELEMENTS:,} elements before its first item ends")
            full = True
            break
        if body[j - 1] == 0x2F or name.lower() in _VOID:  # <x/> or <br>
            continue
        stack.append(name)
        if len(stack) > MAX_FEED_DEPTH:
            raise FeedTooCostly(f"feed refused: nested deeper than {MAX_FEED_DEPTH} elements")
    if elements == 0:  # no tag we can read (an exotic encoding, or plain text): not for us
        raise NotAFeed(f"not an RSS/Atom feed: got {_describe(body)}")
    if not full or cut is None:
        return body
    offset, depth = cut
    closers = b"".join(b"</" + name + b">" for name in reversed(stack[:depth]))
    return body[:offset] + closers


def _describe(body: bytes) -> str:
    """A short human description of what we got instead of a feed."""
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        return "an empty body"
    text = head.decode("utf-8", "replace")
    if sum(ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\r\n") for ch in text) > len(text) // 10:
        return f"binary data ({len(body)} bytes)"
    snippet = " ".join(text.split())[:40]
    low = snippet.lower()
    kind = "text/html document" if low.startswith(("<!doctype html", "<html")) or "<body" in low \
        else "document"
    return f"{kind} starting {snippet!r}…"


def _html_to_text(fragment: str) -> str:
    if not fragment or "<" not in fragment:
        return " ".join(fragment.split())
    try:
        text = lxml.html.fragment_fromstring(fragment, create_parent="div").text_content()
    except (etree.ParserError, ValueError):
        text = re.sub(r"<[^>]*>", " ", fragment)
    return " ".join(text.split())


def _struct_to_utc(value: object) -> datetime | None:
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def parse_feed(body: bytes, base_url: str) -> list[FeedEntry]:
    """Entries of an RSS/Atom feed with links resolved against `base_url`; linkless ones dropped.

    Read by fastfeedparser (lxml, some fifty times faster than feedparser on a 30-item feed:
    a changed feed of a big watchlist is mostly this); a feed it cannot read, or finds no item
    in, is read by feedparser, which tolerates more and says what is not a feed at all: bozo
    alone is tolerated (real feeds are often slightly broken); no entries plus bozo or no
    recognised version means this was not a feed.
    """
    if not body or not body.strip():
        raise NotAFeed("not an RSS/Atom feed: got an empty body")
    if _describe(body).startswith("text/html"):
        raise NotAFeed(f"not an RSS/Atom feed: got {_describe(body)}")
    bounded = _bounded_feed(_scannable(body))
    items = _fast_items(bounded)
    if items is None:
        items = _tolerant_items(bounded, base_url, body)
    out: list[FeedEntry] = []
    for link, links, title, summary, published, guid in items[:MAX_FEED_ITEMS]:
        if not link:
            for alt in links:
                if alt.get("href") and (alt.get("rel") or "alternate") == "alternate":
                    link = alt["href"]
                    break
        if not link:
            continue
        url = urljoin(base_url, link.strip())
        if urlsplit(url).scheme not in ("http", "https"):
            continue
        out.append(FeedEntry(
            url=url,
            title=cap_title(_html_to_text(title[:MAX_TITLE_CHARS * 8])),
            summary=cap_text(_html_to_text(summary[:MAX_TEXT_CHARS * 4])),
            published=published,
            guid=guid or url,
        ))
    return out


# (link, alternate links, title, summary, published, guid) of one feed item, from either parser.
_Item = tuple[str, list[dict[str, str]], str, str, datetime | None, str]


_WELL_FORMED = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)


def _fast_items(bounded: bytes) -> list[_Item] | None:
    """The items as fastfeedparser reads them, or None: let feedparser read the feed. Only a
    well-formed feed takes the fast path: on sloppy markup lxml's recovery can misplace items,
    where feedparser's reading is the one the tests hold (it costs a tenth of a millisecond)."""
    try:
        etree.fromstring(bounded, _WELL_FORMED)
    except Exception:  # not well-formed XML (or not XML): the tolerant parser
        return None
    try:  # bytes, never a str: given a URL string fastfeedparser would fetch it
        entries = fastfeedparser.parse(bounded, include_content=False, include_tags=False,
                                       include_media=False, include_enclosures=False).entries
    except Exception:  # any failure of the fast path: the tolerant parser decides
        return None
    if not entries:
        return None
    return [(str(e.get("link") or ""), [dict(x) for x in e.get("links") or [] if isinstance(x, dict)],
             str(e.get("title") or ""), str(e.get("description") or e.get("summary") or ""),
             _iso_to_utc(e.get("published") or e.get("updated")), str(e.get("id") or ""))
            for e in entries[:MAX_FEED_ITEMS]]


def _tolerant_items(bounded: bytes, base_url: str, body: bytes) -> list[_Item]:
    # bytes in: feedparser never fetches anything; content-location sets the base for links.
    parsed = feedparser.parse(bounded, response_headers={"content-location": base_url})
    entries = (parsed.get("entries") or [])[:MAX_FEED_ITEMS]
    # An RSS channel or Atom feed with no items is a feed, empty for now. Without a version it
    # is not a feed; a version with a real parse error and no items is a broken one. A missing
    # Content-Type (we pass none) or an overridden encoding is not an error.
    harmless = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
    broken = parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), harmless)
    if not entries and (broken or not parsed.get("version")):
        raise NotAFeed(f"not an RSS/Atom feed: got {_describe(body)}")
    return [(e.get("link") or "", list(e.get("links") or []), e.get("title") or "", e.get("summary") or "",
             _struct_to_utc(e.get("published_parsed") or e.get("updated_parsed")), str(e.get("id") or ""))
            for e in entries]


def _iso_to_utc(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def cap_title(title: str) -> str:
    """A title of at most MAX_TITLE_CHARS characters (cut at a word, with an ellipsis)."""
    if len(title) <= MAX_TITLE_CHARS:
        return title
    cut = title[:MAX_TITLE_CHARS - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[-80:] else cut).rstrip() + "\u2026"


def cap_text(text: str) -> str:
    """A text of at most MAX_TEXT_CHARS characters, cut at a paragraph or word boundary."""
    if len(text) <= MAX_TEXT_CHARS:
        return text
    cut = text[:MAX_TEXT_CHARS]
    for sep in ("\n\n", "\n", " "):
        at = cut.rfind(sep, MAX_TEXT_CHARS - 2_000)
        if at > 0:
            return cut[:at].rstrip()
    return cut


# ---------------------------------------------------------------------------- articles


@dataclass(frozen=True)
class ExtractedArticle:
    url: str  # canonical
    title: str  # "" when the page has none
    text: str
    published: datetime | None  # aware UTC
    author: str | None
    site_name: str | None


_DATE_META_XPATH = (
    "//meta[@property='article:published_time' or @name='article:published_time'"
    " or @property='og:published_time' or @itemprop='datePublished'"
    " or @name='pubdate' or @name='publishdate' or @name='date']/@content"
)


def _parse_iso(value: str) -> datetime | None:
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def _meta_timestamps(tree: lxml.html.HtmlElement) -> list[datetime]:
    """Full timestamps from publication-date meta tags (read before trafilatura prunes)."""
    stamps = (_parse_iso(str(v)) for v in tree.xpath(_DATE_META_XPATH))
    return [s for s in stamps if s is not None]


def _published(day: str | None, stamps: list[datetime]) -> datetime | None:
    """trafilatura's date (day precision), sharpened by a meta timestamp on that same day."""
    if not day:
        return None
    try:
        d = date.fromisoformat(day[:10])
    except ValueError:
        return None
    for exact in stamps:
        if exact.date() == d:
            return exact.astimezone(UTC)
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _declared_canonical(tree: lxml.html.HtmlElement, url: str) -> str:
    """<link rel=canonical> or og:url if on the same site as `url`, else `url`."""
    candidates: list[str] = []
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            candidates.append(link.get("href"))
    candidates += [str(v) for v in tree.xpath("//meta[@property='og:url']/@content")]
    page_host = urlsplit(url).hostname or ""
    for cand in candidates:
        try:
            absolute = urljoin(url, cand.strip())
            parts = urlsplit(absolute)
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and same_site(parts.hostname or "", page_host):
            return absolute
    return url


def _bounded(tree: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The tree if small enough, else narrowed to its largest fitting <article>/<main>."""
    for el in tree.iter("svg", "style"):
        el.clear()
    size = sum(1 for _ in tree.iter())
    if size <= MAX_ELEMENTS:
        return tree
    body = tree.find("body")
    for xp in ("//article", "//main", "//*[@role='main']"):
        fitting = [el for el in tree.xpath(xp) if sum(1 for _ in el.iter()) <= MAX_ELEMENTS]
        if body is not None and fitting:
            keep = max(fitting, key=lambda el: len(el.text_content()))
            for child in list(body):
                body.remove(child)
            body.append(keep)
            return tree
    log.debug("page too large to extract: %d elements", size)
    return None


# ---------------------------------------------------------------------------- article blocks

_CONTAINERS = frozenset({"body", "div", "list", "table", "quote", "section", "article", "main"})
_DATE_ONLY = re.compile(
    r"^(?:(?:updated|published|posted)\s*:?\s*)?(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?"
    r"(?:\d{1,2}\s+[a-z]{3,9}\.?,?\s+\d{4}|[a-z]{3,9}\.?\s+\d{1,2},?\s+\d{4}"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})"
    r"(?:,?\s*(?:at\s+)?\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*[a-z]{2,4})?)?\.?$",
    re.IGNORECASE)
_CREDIT = re.compile(
    r"^(?:(?:photo|image|picture|video|graphic|illustration|file photo)s?(?:\s+credit)?"
    r"|credits?|source|caption)\s*(?::|by\b)", re.IGNORECASE)
_QUOTE_MARK = re.compile("[\"“”„«»]")
_SIGNED = re.compile(  # a quotation's signature: '… — Jane Doe (@jdoe) March 3, 2025'
    r"^(.*?[.!?\"”…]|.*?\S)\s+((?:[\u2014\u2013]|--?)\s*[A-Z@][^\u2014\u2013\n]{1,100})$",
    re.DOTALL)


def _norm_words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def _inline_text(el: etree._Element) -> str:
    """The words of one block; a line break inside it stays a line break."""
    parts: list[str] = [el.text or ""]
    for child in el:
        if child.tag == "lb":
            parts.append("\n")
        else:
            parts.append(_inline_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _blocks(el: etree._Element, in_quote: bool = False) -> list[tuple[str, str, bool]]:
    """(tag, text, inside a blockquote) of every block of trafilatura's XML body, in order."""
    out: list[tuple[str, str, bool]] = []
    quote = in_quote or el.tag == "quote"
    has_blocks = el.tag in _CONTAINERS and any(
        isinstance(c.tag, str) and c.tag not in ("lb", "hi", "ref", "del") for c in el)
    if not has_blocks:
        if el.tag == "row":
            cells = [" ".join(_inline_text(c).split()) for c in el]
            return [("row", " | ".join(c for c in cells if c), quote)]
        return [(el.tag, _inline_text(el), quote)]
    loose = el.text or ""
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if child.tag in ("lb", "hi", "ref", "del"):
            loose += _inline_text(child) + (child.tail or "")
            continue
        if loose.strip():
            out.append((el.tag, loose, quote))
        out += _blocks(child, quote)
        loose = child.tail or ""
    if loose.strip():
        out.append((el.tag, loose, quote))
    return out


def _body_text(body: etree._Element, title: str) -> str:
    """The article text as paragraphs separated by blank lines, from trafilatura's XML body:
    one paragraph per block (paragraph, heading, list item, table row, quotation), the
    headline dropped where it repeats the title, lone date lines and photo credits dropped.
    A blockquote's own words (an embedded tweet, a statement) are put in quotation marks, so
    the matcher reads them as a quotation; its '— Name (@handle) date' line stays its own."""
    paras: list[str] = []
    headline = _norm_words(title)
    for i, (tag, raw, quoted) in enumerate(_blocks(body)):
        lines = [" ".join(ln.split()) for ln in raw.split("\n")]
        text = "\n".join(ln for ln in lines if ln)
        if not text:
            continue
        flat = " ".join(text.split())
        words = _norm_words(flat)
        if headline and i < 3 and (words == headline or tag == "head" and len(words) > 20 and (
                headline.startswith(words) or words.startswith(headline))):
            continue  # the page's headline: the article's title, not its text
        if _DATE_ONLY.match(flat) or (_CREDIT.match(flat) and len(words.split()) <= 12):
            continue
        signature = ""
        if quoted:  # one quotation, one paragraph: its line breaks are layout
            text = flat
        sig = _SIGNED.match(text) if quoted else None
        if sig and ("(@" in sig.group(2) or len(sig.group(2).split()) <= 8):
            text, signature = sig.group(1), sig.group(2)  # '… — Jane Doe (@jdoe) March 3'
        if quoted and not _QUOTE_MARK.search(text) and re.search(r"\w", text) \
                and not re.match(r"^[\u2014\u2013-]", text):
            text = f"\u201c{text}\u201d"
        paras.append(text)
        if signature:
            paras.append(signature)
    return "\n\n".join(paras)


def extract_article(html: bytes, url: str) -> ExtractedArticle | None:
    """Main text + metadata of an article page, or None when there is no real article.

    Never raises on bad input: garbage, empty, mis-declared or pathological pages give None.
    """
    if not html or len(html) > MAX_HTML_BYTES:
        return None
    try:
        tree = trafilatura.load_html(html)
        if tree is None:
            return None
        tree = _bounded(tree)
        if tree is None:
            return None
        canonical = _declared_canonical(tree, url)
        stamps = _meta_timestamps(tree)
        doc = trafilatura.bare_extraction(
            tree, url=url, with_metadata=True, include_comments=False, include_tables=True,
        )
        if doc is None or isinstance(doc, dict):  # a Document unless as_dict=True is asked for
            return None
        text = _body_text(doc.body, doc.title or "") if doc.body is not None else ""
        if len(text) < MIN_ARTICLE_CHARS // 2:  # the blocks went missing: take the plain text
            text = (doc.text or "").strip()
        if len(text) < MIN_ARTICLE_CHARS:
            return None
        return ExtractedArticle(
            url=canonical_url(canonical),
            title=cap_title(doc.title or ""),
            text=cap_text(text),
            published=_published(doc.date, stamps),
            author=doc.author or None,
            site_name=doc.sitename or None,
        )
    except Exception as exc:  # noqa: BLE001 - third-party parsers on hostile input: any failure = no article
        log.debug("extraction failed for %s: %r", url, exc)
        return None


@functools.cache
def _english_date_parser() -> Any:
    """htmldate's parser for dates in running text (its settings, htmldate/extractors.py
    `get_external_parser`), reading English only.

    htmldate hands dateparser any date-like text its own rules cannot read ("Wire 1995-27" in
    a headline is enough), and dateparser with no language tries all of its 205 locales: each
    is loaded and its patterns compiled (+35 MB resident, and ~8 ms more per such page while
    they load). The matcher reads English; dates in meta tags, <time>, JSON-LD, the URL and
    the feed item are read as before, in any language."""
    from dateparser import DateDataParser

    return DateDataParser(languages=["en"], settings={
        "NORMALIZE": True, "PARSERS": ["custom-formats", "absolute-time"], "PREFER_DATES_FROM": "past",
        "PREFER_LOCALE_DATE_ORDER": True, "RETURN_AS_TIMEZONE_AWARE": False, "STRICT_PARSING": True,
    })


htmldate.extractors.get_external_parser = _english_date_parser  # read by its _external_date at call time


# ---------------------------------------------------------------------------- outlet pages

# /2024/10/25/slug or /2024/10/slug: a dated path with a wordy segment after it (not an archive)
_DATE_SEGMENT = re.compile(
    r"/(?:19|20)\d\d/(?:0?[1-9]|1[0-2])/(?:(?:0?[1-9]|[12]\d|3[01])/)?[^/]*[a-z][^/]*"
)
_ID_TAIL = re.compile(r"(?:-[a-z]{0,2}\d{5,}|^\d{5,})$")
_EXCLUDED_SEGMENTS = frozenset({
    "tag", "tags", "category", "categories", "topic", "topics", "author", "authors", "login",
    "logout", "signin", "sign-in", "signup", "sign-up", "register", "subscribe", "search",
    "feed", "feeds", "rss", "newsletter", "newsletters", "account", "profile", "user", "users",
    "static", "assets", "wp-content", "wp-includes", "wp-json", "cdn-cgi", "page",
})
_ASSET_EXT = re.compile(
    r"\.(?:jpe?g|png|gif|webp|avif|svg|ico|bmp|css|js|mjs|json|xml|rss|atom|pdf|zip|gz|rar|"
    r"mp3|mp4|m4a|mov|avi|webm|woff2?|ttf|eot|docx?|xlsx?|pptx?|exe|dmg|apk)$",
    re.IGNORECASE,
)
_PAGE_EXT = re.compile(r"\.(?:html?|shtml|php|aspx?|cms)$", re.IGNORECASE)


def _is_article_path(path: str) -> bool:
    segments = [s for s in path.lower().split("/") if s]
    if not segments or _ASSET_EXT.search(segments[-1]):
        return False
    if any(s in _EXCLUDED_SEGMENTS for s in segments):
        return False
    tail = _PAGE_EXT.sub("", segments[-1])
    return bool(
        _DATE_SEGMENT.search(path.lower())
        or len([w for w in tail.split("-") if w]) >= 4
        or _ID_TAIL.search(tail)
    )


def discover_links(html: bytes, page_url: str, limit: int = 100) -> list[str]:
    """Canonical article links on an outlet's own site, in page order, deduplicated."""
    if not html or not html.strip():
        return []
    try:
        parser = lxml.html.HTMLParser(recover=True, no_network=True)
        tree = lxml.html.document_fromstring(html[:MAX_HTML_BYTES], parser=parser)
    except (etree.LxmlError, ValueError):
        return []
    base = page_url
    for b in tree.iter("base"):
        if b.get("href"):
            base = urljoin(page_url, b.get("href").strip())
            break
    page_host = urlsplit(page_url).hostname or ""
    self_url = canonical_url(page_url)
    seen: set[str] = set()
    out: list[str] = []
    for a in tree.iter("a", "area"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            continue
        try:
            parts = urlsplit(urljoin(base, href))
        except ValueError:
            continue
        if parts.scheme not in ("http", "https") or not same_site(parts.hostname or "", page_host):
            continue
        url = canonical_url(urlunsplit(parts))
        if url == self_url or url in seen or not _is_article_path(parts.path):
            continue
        seen.add(url)
        out.append(url)
        if len(out) >= limit:
            break
    return out

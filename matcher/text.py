"""Text helpers for the matcher: cleaning, sentence splitting, quotes, words and names.

Pure functions, stdlib only.  Offsets returned by the helpers index the passage string they
were given, so callers can relate cues, quotes and names by position.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# --------------------------------------------------------------------------- cleaning

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_ANGLE_URL = re.compile(r"<https?://[^>]*>")
_MD_EMPH = re.compile(r"\*\*|__|(?<!\w)\*(?!\s)|(?<!\s)\*(?!\w)")
_MD_HEADER = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)


def clean(text: str) -> str:
    """Strip markdown/link debris that extractors leave, keeping the words a reader sees."""
    if "[" in text:  # each pattern needs its own mark: skip the scans a text cannot match
        text = _MD_LINK.sub(r"\1", text)
    if "<" in text:
        text = _MD_ANGLE_URL.sub("", text)
    if "#" in text:
        text = _MD_HEADER.sub("", text)
    if "*" in text or "__" in text:
        text = _MD_EMPH.sub("", text)
    return text


def fold(text: str) -> str:
    """Same-length copy with typographic apostrophes made ASCII, so regexes need one form."""
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")


# --------------------------------------------------------------------------- sentences

_ABBREV = {
    "mr", "mrs", "ms", "dr", "prof", "gen", "sen", "rep", "gov", "st", "jr", "sr", "inc",
    "corp", "ltd", "co", "vs", "no", "lt", "col", "capt", "sgt", "rev", "hon", "mt", "ft",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "u.s", "u.k", "u.n", "e.u", "d.c", "a.m", "p.m", "e.g", "i.e", "etc", "approx", "est",
}
_SPLIT = re.compile(r"(?<=[.!?])([\"”’)\]]*)\s+(?=[\"“‘(\[]?[A-Z0-9])")
_OPENERS = "“„«"
_QUOTE_CHAR = re.compile("[\"“”„«»]")
_CLOSERS = "”»"


def quote_depth(text: str, depth: int = 0) -> int:
    """Quote nesting left open at the end of `text`; straight quotes close if one is open."""
    for ch in _QUOTE_CHAR.findall(text):
        if ch in _OPENERS:
            depth += 1
        elif ch in _CLOSERS:
            depth = max(0, depth - 1)
        elif ch == '"':
            depth = depth - 1 if depth > 0 else 1
    return depth


def quote_spans(text: str) -> list[tuple[int, int]]:
    """Spans (start, end) of quoted speech, mixed curly/straight quotes tolerated."""
    spans: list[tuple[int, int]] = []
    depth, start = 0, 0
    for m in _QUOTE_CHAR.finditer(text):
        i, ch = m.start(), m.group(0)
        opening = ch in _OPENERS or (ch == '"' and depth == 0)
        closing = ch in _CLOSERS or (ch == '"' and depth > 0)
        if opening:
            if depth == 0:
                start = i
            depth += 1
        elif closing and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
    if depth > 0:  # unclosed quote: runs to the end of the passage
        spans.append((start, len(text)))
    return spans


def _is_abbrev_end(chunk: str) -> bool:
    """True when a chunk ends in an abbreviation or an initial, which does not end a sentence.

    Only the chunk's last word can match (a paragraph's words are one space apart), so the
    pattern is tried there alone rather than searched for from every position."""
    m = _ABBREV_END.match(chunk, chunk.rfind(" ") + 1)
    if not m:
        return False
    word = m.group(1).lower().lstrip("(\"“")
    return word in _ABBREV or (len(word) == 1 and "a" <= word <= "z")


_ABBREV_END = re.compile(r"(\S+)\.[\"”’)\]]*$")


_ENDS_SENTENCE = re.compile(r"[.!?:][\"”’)\]]*$")
_CLOSED = re.compile(r"[.!?:\"”]$")
_LONE_DATE = re.compile(r"^(?:\w+,? )?(?:[A-Z][a-z]{2,8}\.? \d{1,2},? \d{4}|\d{1,2} [A-Z][a-z]{2,8}"
                        r"\.? \d{4}|\d{4}-\d\d-\d\d)(?:,? [\d:.apmAPM ]+(?: [A-Z]{2,4})?)?$")


def _continues(prev: str, line: str) -> bool:
    """Does `line` carry on the sentence `prev` left open (a break inside a sentence)?  Not
    after a date line, nor when it opens with a web address (a photo credit: 'kremlin.ru')."""
    return bool(_LOWER_START.match(line)) and not _CLOSED.search(prev) \
        and not _LONE_DATE.match(prev) and not _WEB_ADDRESS.match(line)


_LOWER_START = re.compile(r"^[\"“‘]?[a-z]")
_WEB_ADDRESS = re.compile(r"^[\w-]+\.[a-z]{2,}\b")
_DATELINE = re.compile(
    r"^(?:(?P<city>[A-Z][A-Z.'’\-]+(?:[ /][A-Z][A-Z.'’\-]+){0,3})"
    r"(?P<where>,\s*(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}|[A-Z][a-z]{1,12}\.?))?"
    r"|(?P<mixed>[A-Z][a-z]+(?: [A-Z][a-z]+){0,2}(?:,\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2})?))?"
    r"\s*(?P<agency>\((?:[A-Z][\w.&'’ /-]{0,30})\))?"
    r"\s*(?:[\u2014\u2013]|--?)\s+(?=[\"“‘(]?[A-Z0-9])")


def strip_dateline(para: str) -> str:
    """A paragraph without its dateline ('MOSCOW (Reuters) —', 'WASHINGTON, Oct 25 (AP) -',
    'KYIV —'): where and by whom it was filed is not part of the first sentence."""
    m = _DATELINE.match(para)
    if not m:
        return para
    city, where, mixed, agency = m.group("city"), m.group("where"), m.group("mixed"), \
        m.group("agency")
    if mixed and not agency:  # 'Moscow — ' alone may be the sentence's own subject
        return para
    if not (city or agency):
        return para
    if city and not (where or agency):  # a bare capitalised word: a city, not an acronym
        letters = _NOT_CAPITAL.sub("", city)
        if len(letters) < 5 and " " not in city or not _LONG_DASH.match(
                para[m.end("city"):].lstrip()):
            return para
    return para[m.end():]


_NOT_CAPITAL = re.compile(r"[^A-Z]")
_LONG_DASH = re.compile(r"[\u2014\u2013]|--")


def _lines(block: str) -> list[str]:
    """The lines of one blank-line-separated block that stand on their own.

    Extractors write one block (a headline, a date, a photo credit, a paragraph) per line, so a
    line is a paragraph of its own: a line without sentence punctuation never glues to the
    next sentence.  A line break inside a sentence (next line in lower case) is re-joined, and
    hard-wrapped prose (three or more lines of similar width, most ending mid-sentence) stays
    one paragraph."""
    lines = [ln.strip() for ln in block.split("\n")]
    lines = [ln for ln in lines if ln]
    if len(lines) <= 1:
        return lines
    inner = lines[:-1]
    open_ends = sum(1 for ln in inner if not _ENDS_SENTENCE.search(ln))
    widths = [len(ln) for ln in inner]
    if len(lines) >= 3 and open_ends * 2 > len(inner) and max(widths) <= 100 \
            and min(widths) >= 0.6 * max(widths):
        return [" ".join(lines)]
    out: list[str] = []
    for ln in lines:
        if out and _continues(out[-1], ln):
            out[-1] = f"{out[-1]} {ln}"
        else:
            out.append(ln)
    return out


def _paragraphs(text: str) -> list[str]:
    """Paragraphs, re-joining a paragraph break that falls mid-sentence (extractor debris) and a
    quotation that runs on into the next paragraph (which reopens it: “… / “… ,” she said)."""
    paras = [_SPACES.sub(" ", ln).strip()
             for block in _BLANK_LINE.split(text) for ln in _lines(block)]
    out: list[str] = []
    for p in paras:
        if not p:
            continue
        if out and _continues(out[-1], p):
            out[-1] = f"{out[-1]} {p}"
        elif out and p[0] in "“\"" and quote_depth(out[-1]) > 0 \
                and _PAUSE_END.search(out[-1]) and quote_depth(p) == 0:
            out[-1] = f"{out[-1]} {p[1:]}"  # the opening mark only says the quotation goes on
        else:
            out.append(strip_dateline(p))
    return out


_SPACES = re.compile(r"\s+")
_BLANK_LINE = re.compile(r"\n\s*\n")
_PAUSE_END = re.compile(r"[.!?,]$")


@lru_cache(maxsize=64)
def body_sentences(text: str) -> tuple[str, ...]:
    """The cleaned sentences of an article body, split once however many steps read them
    (the matcher's passages and the stance features both start here)."""
    return sentences_of(clean(text))


def split_sentences(text: str) -> list[str]:
    """Sentences of a body; a quotation spanning several sentences stays one passage."""
    return list(sentences_of(text))


@lru_cache(maxsize=64)
def sentences_of(text: str) -> tuple[str, ...]:
    """`split_sentences`, split once per text however many readers ask (the matcher, the
    features, and the reader once per claim: an uncleaned text is often its cleaned self)."""
    return tuple(_split_sentences(text))


def _split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for para in _paragraphs(text):
        pieces: list[str] = []
        last = 0
        for m in _SPLIT.finditer(para):
            chunk = para[last:m.end(1)]
            if _is_abbrev_end(chunk):
                continue
            pieces.append(chunk.strip())
            last = m.end()
        pieces.append(para[last:].strip())
        sentences.extend(_merge_open_quotes([p for p in pieces if p]))
    return sentences


def _merge_open_quotes(pieces: list[str], limit: int = 4) -> list[str]:
    """Join sentences while a quotation opened in them is still open (bounded)."""
    out: list[str] = []
    buf, n = "", 0
    for piece in pieces:
        buf = f"{buf} {piece}" if buf else piece
        n += 1
        if quote_depth(buf) == 0 or n >= limit:
            out.append(buf)
            buf, n = "", 0
    if buf:
        out.append(buf)
    return out


# --------------------------------------------------------------------------- words

WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*[A-Za-z]|[A-Za-z]")

IRREGULAR = {
    "spoke": "speak", "spoken": "speak", "met": "meet", "told": "tell", "said": "say",
    "held": "hold", "had": "have", "has": "have", "made": "make", "bought": "buy",
    "sold": "sell", "won": "win", "lost": "lose", "paid": "pay", "took": "take",
    "taken": "take", "gave": "give", "given": "give", "went": "go", "gone": "go",
    "saw": "see", "seen": "see", "found": "find", "thought": "think", "brought": "bring",
    "ran": "run", "began": "begin", "begun": "begin", "wrote": "write", "written": "write",
    "fought": "fight", "built": "build", "sent": "send", "spent": "spend", "stole": "steal",
    "stolen": "steal", "knew": "know", "known": "know", "got": "get", "gotten": "get",
    "came": "come", "kept": "keep", "taught": "teach", "sought": "seek", "flew": "fly",
    "flown": "fly", "fell": "fall", "fallen": "fall", "broke": "break", "broken": "break",
    "chose": "choose", "chosen": "choose", "drove": "drive", "driven": "drive",
    "rose": "rise", "risen": "rise", "shot": "shoot", "struck": "strike", "grew": "grow",
    "grown": "grow", "threw": "throw", "thrown": "throw", "left": "leave", "led": "lead",
    "fled": "flee", "hid": "hide", "hidden": "hide", "ate": "eat", "eaten": "eat",
    "was": "be", "were": "be", "been": "be", "is": "be", "are": "be", "did": "do",
    "done": "do", "does": "do", "died": "die", "dies": "die", "dying": "die",
    "sang": "sing", "sung": "sing", "swore": "swear", "sworn": "swear", "wore": "wear",
    "caught": "catch", "signed": "sign", "news": "news", "talks": "talk",
}
_DOUBLE = re.compile(r"([b-df-hj-np-tv-z])\1$")


@lru_cache(maxsize=65536)
def lemma(word: str) -> str:
    """Crude lemma: irregular table, then inflectional suffixes (talked/talking/talks -> talk)."""
    w = word.lower().replace("’", "'")
    w = w.removesuffix("'s")
    w = w.strip("'-")
    if w in IRREGULAR:
        return IRREGULAR[w]
    if len(w) <= 3:
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    for suf in ("ing", "ed"):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            base = w[: -len(suf)]
            if _DOUBLE.search(base) and not base.endswith(("ll", "ss", "ff", "zz")):
                return base[:-1]
            return base
    if w.endswith(("sses", "shes", "ches", "xes", "zes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Coarser than `lemma`: also drops derivational endings, for statement-derived words."""
    w = lemma(word)
    for suf in ("ations", "ation", "ions", "ion", "ments", "ment", "ers", "er", "e", "y"):
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            return w[: -len(suf)]
    return w


def words(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end) tokens of `text`."""
    return [(m.group(0), m.start(), m.end()) for m in WORD.finditer(text)]


@lru_cache(maxsize=4096)
def word_spans(text: str) -> tuple[tuple[str, int, int], ...]:
    """`words` of a passage, tokenised once for every claim that reads it (cached)."""
    return tuple([(m.group(0), m.start(), m.end()) for m in WORD.finditer(text)])


def is_title_case(text: str) -> bool:
    """Headline-style capitalisation, where capitals say nothing about names."""
    toks = [w for w, _, _ in words(text) if len(w) > 3]
    if len(toks) < 4:
        return False
    caps = sum(1 for w in toks if w[0].isupper())
    return caps / len(toks) >= 0.6


def word_set(lexicon: str) -> frozenset[str]:
    """A lexicon written as whitespace-separated words, which reads and edits best."""
    return frozenset(lexicon.split())


# --------------------------------------------------------------------------- names

NOT_NAMES = {
    "the", "a", "an", "in", "on", "at", "by", "for", "from", "to", "of", "and", "but", "or",
    "if", "as", "so", "yet", "it", "its", "he", "she", "they", "we", "i", "you", "his", "her",
    "their", "our", "my", "your", "this", "that", "these", "those", "there", "here", "then",
    "when", "while", "after", "before", "since", "last", "next", "one", "two", "three",
    "some", "many", "most", "all", "no", "not", "what", "who", "why", "how", "where",
    "which", "however", "meanwhile", "also", "still", "even", "according", "earlier",
    "later", "today", "yesterday", "tomorrow", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday", "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december", "mr", "mrs", "ms",
    "dr", "president", "prime", "minister", "chancellor", "ceo", "chairman", "spokesman",
    "spokeswoman", "spokesperson", "sir", "lord", "lady", "related", "article", "original",
    "url", "go", "suggest", "view", "comments", "homepage", "photo", "image", "video",
    "read", "more", "update", "updated", "breaking", "exclusive", "opinion", "analysis",
    "former", "current", "u.s", "u.s.", "us", "uk", "eu",
    "un", "officials", "sources", "experts", "analysts", "critics", "residents", "witnesses",
    "scientists", "researchers", "investigators", "authorities", "police", "i'm", "i've",
    "i'd", "i'll", "watch", "iraqi", "israeli",
    "pakistani", "saudi", "yemeni", "kuwaiti", "qatari", "somali", "afghan", "thai", "swiss",
    "dutch", "greek", "irish", "welsh", "scottish", "danish", "czech", "polish", "turkish",
    "spanish", "swedish", "finnish", "english", "japanese", "mexican", "canadian",
    "australian", "african", "korean", "italian", "brazilian", "syrian", "egyptian",
    "russian", "ukrainian", "american", "chinese", "european", "british", "french",
    "german", "iranian", "indian", "western", "eastern", "northern", "southern",
    "journalist", "reporter", "columnist", "analyst", "editor", "correspondent", "writer",
    "author", "professor", "senator", "governor", "judge", "coach", "manager", "chief",
    "director", "founder", "agent", "striker", "midfielder", "defender", "goalkeeper",
    "captain", "ambassador", "secretary", "commentator", "anchor", "lawyer", "attorney",
    "officer", "premier", "mayor", "king", "queen", "prince", "princess", "pope",
    "do", "does", "did", "is", "was", "are", "were", "has", "have", "had", "will", "would",
    "can", "could", "should", "might", "must", "with", "about", "into", "over",
}
_CONNECT = {"of", "de", "del", "der", "van", "von", "al", "bin", "la", "le", "du", "&"}


@dataclass(frozen=True)
class Name:
    """A capitalised name sequence in a passage; `the` marks a preceding lowercase 'the'."""

    text: str
    start: int
    end: int
    the: bool = False


_FUNCTION_NEXT = re.compile(
    r"\s+(?:said|says|say|told|tells|has|have|had|is|was|were|are|will|would|could|did|does"
    r"|and|or|who|which|of|in|on|at|to|for|with|from|by|as|but|wrote|tweeted|added|noted"
    r"|reported|denied|denies|confirmed|insisted|claimed|[a-z]+ed)\b")


def _demonym_modifier(name: str, after: str) -> bool:
    """'the Nicaraguan news site', 'Iraqi officials': an adjective, not a name."""
    return _demonym_at(name, after, 0)


def _demonym_at(name: str, text: str, end: int) -> bool:
    """`_demonym_modifier(name, text[end:])` without copying the rest of the text."""
    return name.endswith(_DEMONYM_ENDS) and bool(_SPACE_LOWER.match(text, end)) \
        and not _FUNCTION_NEXT.match(text, end)


_DEMONYM_ENDS = ("an", "ese", "ish", "i")
_SPACE_LOWER = re.compile(r"\s+[a-z]")


def _strip_possessive(tok: str) -> str:
    tok = tok.rstrip(".,")
    for suf in ("'s", "’s", "'", "’"):
        if tok.endswith(suf):
            return tok[: -len(suf)]
    return tok


_CAP_SEQ = re.compile(
    r"(?<![\w'’.\-])[A-Z][\w'’.\-&]*"
    r"(?: (?:(?:of|de|del|der|van|von|al|bin|la|le|du|&) )?[A-Z][\w'’.\-&]*)*")
_POSSESSIVE_2 = ("'s", "’s")
_POSSESSIVE_1 = ("'", "’")


def find_names(text: str) -> list[Name]:
    """Capitalised word sequences that look like names (stop-words and dates excluded)."""
    names: list[Name] = []
    for m in _CAP_SEQ.finditer(text):
        pos = m.start()
        run: list[tuple[str, int]] = []  # (word without possessive, its offset)
        for tok in m.group(0).split(" "):
            plain = tok.rstrip(".,")  # `_strip_possessive`, inline
            bare = plain[:-2] if plain.endswith(_POSSESSIVE_2) else \
                plain[:-1] if plain.endswith(_POSSESSIVE_1) else plain
            connect = bool(run) and tok in _CONNECT
            if (bare.lower().rstrip(".") in NOT_NAMES and not connect) \
                    or not (tok[0].isupper() or connect):
                if run:
                    _emit(text, run, names)
                    run = []
            else:
                run.append((bare, pos))
                if bare != plain:  # possessive ends the name
                    _emit(text, run, names)
                    run = []
            pos += len(tok) + 1
        if run:
            _emit(text, run, names)
    return names


def _emit(text: str, run: list[tuple[str, int]], names: list[Name]) -> None:
    """Append a finished name run (trailing connectors dropped; demonyms skipped)."""
    while run and run[-1][0] in _CONNECT:
        run.pop()
    if not run:
        return
    name = " ".join(w for w, _ in run).rstrip(".") if len(run) > 1 else run[0][0].rstrip(".")
    start, end = run[0][1], run[-1][1] + len(run[-1][0].rstrip("."))
    if len(name) < 2 or (" " not in name and _demonym_at(name, text, end)):
        return
    the = text[max(0, start - 4):start].lower() == "the "
    names.append(Name(name, start, end, the))

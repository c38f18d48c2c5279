"""Features of a (claim, article) pair for the learned article-level stance model.

Pure and cheap (a few hundred microseconds for a 500-word article): word statistics that
generalise across topics — how much of the claim the article covers, and, in the sentences
that cover it, the words of refutation, hedging, confirmation and negation — plus what the
rule matcher found (who confirms or denies, whether the outlet's own voice debunks).  No
topic words: a model trained on one set of stories must carry to the next.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

from matcher import text as tx
from matcher.match import Finding, Stance


def _lexicon(words: str) -> frozenset[str]:
    return frozenset(words.split())


STOP = _lexicon("""
a an the and or but if of to in on at for from by with about as into over after before than then
is are was were be been being am has have had do does did will would shall should can could may
might must it its it's this that these those there here he she they them his her their our we you
i me my your who whom whose which what when where why how not no so such also just very more most
said says say told new one two three first last up out off all any some other only own same too
s t just now year years week day time people report reports reported according news
""")

REFUTE = _lexicon("""
fake fakes faked hoax hoaxes false falsely fraud fraudulent deny denies denied denying denial
denials debunk debunks debunked debunking untrue myth bogus prank pranks pranked satire satirical
doctor doctored photoshop photoshopped fabricate fabricated fabrication baseless unfounded nonsense
misleading mislead incorrect inaccurate refute refutes refuted dismiss dismisses dismissed reject
rejects rejected dispute disputes disputed contradict contradicts contradicted retract retracts
retracted retraction correction corrected lie lies lying liar parody spoof scam rubbish fiction
fictional made-up nope wrong erroneous erroneously misreported mistakenly mistaken
""")
HEDGE = _lexicon("""
reportedly allegedly alleged allegation allegations claim claims claimed claiming rumor rumors
rumour rumours rumored rumoured unconfirmed unverified purportedly purported supposedly supposed
apparently apparent may might could possibly possible perhaps speculation speculate speculated
appear appears appeared seem seems seemed suggest suggests suggested believed unclear if whether
sources source purport
""")
CONFIRM = _lexicon("""
confirm confirms confirmed confirming confirmation announce announces announced official officially
reveal reveals revealed verify verified verifies indeed admit admits admitted acknowledge
acknowledged acknowledges prove proved proven proof footage video shows showed shown statement
true truly actually real genuine
""")
DOUBT = _lexicon("""
doubt doubts doubted doubtful skeptical sceptical skeptic sceptic skeptics questionable dubious
unlikely suspicious suspect suspicion actually turned staged hoaxer debunker snopes satirical
misinterpreted misunderstood misquoted exaggerated questioned questioning conspiracy supposed
however despite contrary instead
""")
NEGATION = _lexicon("not no never nothing none nor neither without n't cannot isn't wasn't "
                    "didn't doesn't don't hasn't haven't won't wouldn't aren't weren't")

NAMES = (
    # relatedness
    "cover", "cover_lead", "cover_best", "cover_2nd", "n_covering", "bigram", "cosine",
    "cover_but_top", "claim_words_found", "claim_words",
    # the rule matcher
    "m_referenced", "m_deny", "m_confirm", "m_deny_strength", "m_confirm_strength",
    "m_voice_deny", "m_discuss",
    # stance words where the claim is addressed (covering sentences) and in the lead
    "refute_near", "hedge_near", "confirm_near", "neg_near", "question_near",
    "doubt_near", "doubt_lead", "negated_claim_words",
    "refute_lead", "hedge_lead", "refute_all", "hedge_all", "confirm_all", "neg_all",
    # the claim's own wording
    "claim_refute", "claim_hedge", "claim_question", "claim_neg",
    # interactions the claim's polarity flips
    "claim_refute_x_refute_near", "claim_neg_x_neg_near",
    "length",
)


_LEXICONS = (REFUTE, HEDGE, CONFIRM, NEGATION, DOUBT)
_REF, _HED, _CON, _NEG, _DOU = range(len(_LEXICONS))


@dataclass(frozen=True)
class Body:
    """An article analysed once, whatever the number of claims it is matched to."""

    raw: tuple[str, ...]  # the sentences as written (title first)
    sentences: tuple[tuple[str, ...], ...]  # lower-case words per sentence
    stems: tuple[frozenset[str], ...]  # content-word stems per sentence
    questions: tuple[bool, ...]
    counts: tuple[tuple[int, ...], ...]  # per sentence: words of each of `_LEXICONS`
    totals: tuple[int, ...]  # words of each of `_LEXICONS` in the whole body
    every: frozenset[str]  # all stems
    bigrams: frozenset[tuple[str, str]]  # adjacent content stems
    tf: dict[str, int]  # stem -> number of sentences holding it
    norms: dict[int, float] = field(default_factory=dict)  # id(idf) -> tf-idf norm


_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _words(s: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(tx.fold(s).lower()))


@lru_cache(maxsize=200_000)
def _stem(w: str) -> str:
    return tx.stem(w)


def _count(words: Sequence[str], lex: frozenset[str]) -> int:
    return sum(1 for w in words if w in lex or (lex is NEGATION and w.endswith("n't")))


_STANCE_WORDS = frozenset().union(*_LEXICONS)


def _counts(words: Sequence[str]) -> tuple[int, ...]:
    """`_count` of each of `_LEXICONS` in one pass: most words are in none of them, and only
    a word with an apostrophe can end in n't, so the few others are looked at once each."""
    counts = [0] * len(_LEXICONS)
    for w in [w for w in words if w in _STANCE_WORDS or "'" in w]:
        for k, lex in enumerate(_LEXICONS):
            if w in lex or (k == _NEG and w.endswith("n't")):
                counts[k] += 1
    return tuple(counts)


@lru_cache(maxsize=32)
def body_of(title: str, text: str) -> Body:
    """Sentences and stems of an article (cached: one article is matched to many claims)."""
    raw = ([title] if title.strip() else []) + list(tx.body_sentences(text))
    sents = tuple(_words(s) for s in raw)
    content = [[_stem(w) for w in s if w not in STOP] for s in sents]
    stems = tuple(frozenset(c) for c in content)
    tf: dict[str, int] = {}
    for st in stems:
        for w in st:
            tf[w] = tf.get(w, 0) + 1
    counts = tuple(_counts(s) for s in sents)
    totals = tuple(sum(c[k] for c in counts) for k in range(len(_LEXICONS)))
    return Body(tuple(raw), sents, stems, tuple(s.rstrip().endswith("?") for s in raw),
                counts, totals, frozenset(tf),
                frozenset(b for c in content for b in pairwise(c)), tf)


@lru_cache(maxsize=32)
def stems_anywhere(title: str, text: str) -> frozenset[str]:
    """Every content stem of the title and the cleaned text, without splitting sentences: a
    superset of `body_of(title, text).every` (sentence splitting only drops datelines and
    separates at spaces), cheap enough to tell at once that an article shares at most one
    word with a claim, as most articles do with most claims."""
    words = _words(f"{title} {tx.clean(text)}")
    return frozenset(_stem(w) for w in set(words) if w not in STOP)


def claim_stems(statement: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_stem(w) for w in _words(statement) if w not in STOP))


def _weights(statement: str, idf: Mapping[str, float], default_idf: float) -> dict[str, float]:
    return {s: idf.get(s, default_idf) for s in claim_stems(statement)}


def _cover(weight: Mapping[str, float], stems: frozenset[str]) -> float:
    """IDF-weighted share of the claim's words found in `stems`."""
    total = sum(weight.values()) or 1.0
    return sum(w for s, w in weight.items() if s in stems) / total


def cover_but_top(weight: Mapping[str, float], stems: frozenset[str]) -> float:
    """Coverage without the claim's rarest word found: one shared name is not one story."""
    found = [w for s, w in weight.items() if s in stems]
    return (sum(found) - max(found)) / (sum(weight.values()) or 1.0) if found else 0.0


def evidence(statement: str, body: Body, idf: Mapping[str, float], default_idf: float,
             lexicon: frozenset[str] = frozenset()) -> int:
    """Index of the sentence that best shows the stance: among those covering the claim,
    the one with most `lexicon` words, then the best coverage (-1 for an empty body)."""
    weight = _weights(statement, idf, default_idf)
    per = [_cover(weight, s) for s in body.stems]
    if not per:
        return -1
    top = max(per)
    return max((i for i, c in enumerate(per) if c >= min(0.35, top)),
               key=lambda i: (_count(body.sentences[i], lexicon), per[i], -i))


def _negated_claim_words(claim: Sequence[str], sentences: Sequence[Sequence[str]]) -> int:
    """Claim words with a negation up to three words before them ('never met', 'no talks')."""
    wanted, n = set(claim), 0
    for sent in sentences:
        for i, w in enumerate(sent):
            if (w in NEGATION or w.endswith("n't")) and any(
                    _stem(v) in wanted for v in sent[i + 1:i + 4] if v not in STOP):
                n += 1
    return n


def _sum(body: Body, idx: Sequence[int], k: int) -> int:
    return sum(body.counts[i][k] for i in idx)


def features(statement: str, body: Body, findings: Sequence[Finding],
             idf: Mapping[str, float], default_idf: float) -> list[float]:
    """The feature vector, in `NAMES` order."""
    weight = _weights(statement, idf, default_idf)
    cs = tuple(weight)
    total = sum(weight.values()) or 1.0

    items = tuple(weight.items())

    def cover(stems: frozenset[str]) -> float:
        return sum([w for s, w in items if s in stems]) / total  # a list sums faster

    per = [cover(s) for s in body.stems]
    ranked = sorted(per, reverse=True) + [0.0, 0.0]
    lead = frozenset().union(*body.stems[:3]) if body.stems else frozenset()
    near = [i for i, c in enumerate(per) if c >= 0.35] or \
        ([max(range(len(per)), key=per.__getitem__)] if per else [])
    lead_idx = range(min(3, len(per)))
    n_near, n_all = max(1, len(near)), max(1, len(body.sentences))
    cwords = _words(statement)
    bigrams = set(pairwise(cs))

    norm_b = body.norms.get(id(idf))
    if norm_b is None:
        norm_b = body.norms[id(idf)] = math.sqrt(sum(
            (n * idf.get(w, default_idf)) ** 2 for w, n in body.tf.items())) or 1.0
    dot = sum(weight[s] * body.tf.get(s, 0) * idf.get(s, default_idf) for s in cs)
    norm_c = math.sqrt(sum(w * w for w in weight.values())) or 1.0

    deny = [f for f in findings if f.stance is Stance.DENIES and f.party]
    confirm = [f for f in findings if f.stance is Stance.CONFIRMS and f.party]
    refute_near = _sum(body, near, _REF) / n_near
    neg_near = _sum(body, near, _NEG) / n_near
    claim_refute = float(_count(cwords, REFUTE) > 0)
    claim_neg = float(_count(cwords, NEGATION) > 0)
    return [
        cover(body.every), cover(lead), ranked[0], ranked[1],
        math.log1p(sum(1 for c in per if c >= 0.5)),
        len(bigrams & body.bigrams) / max(1, len(bigrams)), dot / (norm_b * norm_c),
        cover_but_top(weight, body.every), float(sum(1 for s in cs if s in body.every)),
        float(len(cs)),
        float(bool(findings)), float(len(deny)), float(len(confirm)),
        max((f.score for f in deny), default=0.0), max((f.score for f in confirm), default=0.0),
        float(any(f.unattributed is Stance.DENIES for f in findings)),
        float(any(f.stance is Stance.DISCUSSES for f in findings)),
        refute_near, _sum(body, near, _HED) / n_near, _sum(body, near, _CON) / n_near,
        neg_near, sum(body.questions[i] for i in near) / n_near,
        _sum(body, near, _DOU) / n_near, float(_sum(body, lead_idx, _DOU)),
        _negated_claim_words(cs, [body.sentences[i] for i in near]) / n_near,
        float(_sum(body, lead_idx, _REF)), float(_sum(body, lead_idx, _HED)),
        body.totals[_REF] / n_all, body.totals[_HED] / n_all,
        body.totals[_CON] / n_all, body.totals[_NEG] / n_all,
        claim_refute, float(_count(cwords, HEDGE) > 0), float(statement.rstrip().endswith("?")),
        claim_neg, claim_refute * refute_near, claim_neg * neg_near,
        math.log1p(sum(map(len, body.sentences))),
    ]

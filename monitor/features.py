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
from dataclasses import dataclass
from functools import lru_cache

from monitor import text as tx
from monitor.match import Finding, Stance

STOP = frozenset("""
a an the and or but if of to in on at for from by with about as into over after before than then
is are was were be been being am has have had do does did will would shall should can could may
might must it its it's this that these those there here he she they them his her their our we you
i me my your who whom whose which what when where why how not no so such also just very more most
said says say told new one two three first last up out off all any some other only own same too
s t just now year years week day time people report reports reported according news
""".split())

REFUTE = frozenset("""
fake fakes faked hoax hoaxes false falsely fraud fraudulent deny denies denied denying denial
denials debunk debunks debunked debunking untrue myth bogus prank pranks pranked satire satirical
doctor doctored photoshop photoshopped fabricate fabricated fabrication baseless unfounded nonsense
misleading mislead incorrect inaccurate refute refutes refuted dismiss dismisses dismissed reject
rejects rejected dispute disputes disputed contradict contradicts contradicted retract retracts
retracted retraction correction corrected lie lies lying liar parody spoof scam rubbish fiction
fictional made-up nope wrong erroneous erroneously misreported mistakenly mistaken
""".split())
HEDGE = frozenset("""
reportedly allegedly alleged allegation allegations claim claims claimed claiming rumor rumors
rumour rumours rumored rumoured unconfirmed unverified purportedly purported supposedly supposed
apparently apparent may might could possibly possible perhaps speculation speculate speculated
appear appears appeared seem seems seemed suggest suggests suggested believed unclear if whether
sources source purport
""".split())
CONFIRM = frozenset("""
confirm confirms confirmed confirming confirmation announce announces announced official officially
reveal reveals revealed verify verified verifies indeed admit admits admitted acknowledge
acknowledged acknowledges prove proved proven proof footage video shows showed shown statement
true truly actually real genuine
""".split())
DOUBT = frozenset("""
doubt doubts doubted doubtful skeptical sceptical skeptic sceptic skeptics questionable dubious
unlikely suspicious suspect suspicion actually turned staged hoaxer debunker snopes satirical
misinterpreted misunderstood misquoted exaggerated questioned questioning conspiracy supposed
however despite contrary instead
""".split())
NEGATION = frozenset("not no never nothing none nor neither without n't cannot isn't wasn't "
                     "didn't doesn't don't hasn't haven't won't wouldn't aren't weren't".split())

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


@dataclass(frozen=True)
class Body:
    """An article split once into sentences of word stems; shared by every claim."""

    raw: tuple[str, ...]  # the sentences as written (title first)
    sentences: tuple[tuple[str, ...], ...]  # lower-case words per sentence
    stems: tuple[frozenset[str], ...]
    questions: tuple[bool, ...]


_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _words(s: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(tx.fold(s).lower()))


@lru_cache(maxsize=200_000)
def _stem(w: str) -> str:
    return tx.stem(w)


@lru_cache(maxsize=32)
def body_of(title: str, text: str) -> Body:
    """Sentences and stems of an article (cached: one article is matched to many claims)."""
    raw = ([title] if title.strip() else []) + tx.split_sentences(tx.clean(text))
    sents = tuple(_words(s) for s in raw)
    stems = tuple(frozenset(_stem(w) for w in s if w not in STOP) for s in sents)
    return Body(tuple(raw), sents, stems, tuple(s.rstrip().endswith("?") for s in raw))


def claim_stems(statement: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_stem(w) for w in _words(statement) if w not in STOP))


def _count(words: Sequence[str], lex: frozenset[str]) -> int:
    return sum(1 for w in words if w in lex or (w.endswith("n't") and lex is NEGATION))


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


def features(statement: str, body: Body, findings: Sequence[Finding],
             idf: Mapping[str, float], default_idf: float) -> list[float]:
    """The feature vector, in `NAMES` order."""
    weight = _weights(statement, idf, default_idf)
    cs = tuple(weight)
    all_stems = frozenset().union(*body.stems) if body.stems else frozenset()

    def cover(stems: frozenset[str]) -> float:
        return _cover(weight, stems)

    per = [cover(s) for s in body.stems]
    ranked = sorted(per, reverse=True) + [0.0, 0.0]
    lead = frozenset().union(*body.stems[:3]) if body.stems else frozenset()
    near = [i for i, c in enumerate(per) if c >= 0.35] or \
        ([max(range(len(per)), key=per.__getitem__)] if per else [])
    near_words = [w for i in near for w in body.sentences[i]]
    lead_words = [w for s in body.sentences[:3] for w in s]
    all_words = [w for s in body.sentences for w in s]
    n_near, n_all = max(1, len(near)), max(1, len(body.sentences))
    cwords = _words(statement)

    bigrams = set(zip(cs, cs[1:]))
    body_bigrams: set[tuple[str, str]] = set()
    if bigrams:
        for sent in body.sentences:
            st = [_stem(w) for w in sent if w not in STOP]
            body_bigrams.update(zip(st, st[1:]))

    tf: dict[str, int] = {}
    for s in body.stems:
        for w in s:
            tf[w] = tf.get(w, 0) + 1
    dot = sum(weight[s] * tf.get(s, 0) * idf.get(s, default_idf) for s in cs)
    norm_b = math.sqrt(sum((n * idf.get(w, default_idf)) ** 2 for w, n in tf.items())) or 1.0
    norm_c = math.sqrt(sum(w * w for w in weight.values())) or 1.0

    deny = [f for f in findings if f.stance is Stance.DENIES and f.party]
    confirm = [f for f in findings if f.stance is Stance.CONFIRMS and f.party]
    refute_near = _count(near_words, REFUTE) / n_near
    neg_near = _count(near_words, NEGATION) / n_near
    claim_refute = float(_count(cwords, REFUTE) > 0)
    claim_neg = float(_count(cwords, NEGATION) > 0)
    return [
        cover(all_stems), cover(lead), ranked[0], ranked[1],
        math.log1p(sum(1 for c in per if c >= 0.5)),
        len(bigrams & body_bigrams) / max(1, len(bigrams)), dot / (norm_b * norm_c),
        cover_but_top(weight, all_stems), float(sum(1 for s in cs if s in all_stems)),
        float(len(cs)),
        float(bool(findings)), float(len(deny)), float(len(confirm)),
        max((f.score for f in deny), default=0.0), max((f.score for f in confirm), default=0.0),
        float(any(f.unattributed is Stance.DENIES for f in findings)),
        float(any(f.stance is Stance.DISCUSSES for f in findings)),
        refute_near, _count(near_words, HEDGE) / n_near, _count(near_words, CONFIRM) / n_near,
        neg_near, sum(body.questions[i] for i in near) / n_near,
        _count(near_words, DOUBT) / n_near, float(_count(lead_words, DOUBT)),
        _negated_claim_words(cs, [body.sentences[i] for i in near]) / n_near,
        float(_count(lead_words, REFUTE)), float(_count(lead_words, HEDGE)),
        _count(all_words, REFUTE) / n_all, _count(all_words, HEDGE) / n_all,
        _count(all_words, CONFIRM) / n_all, _count(all_words, NEGATION) / n_all,
        claim_refute, float(_count(cwords, HEDGE) > 0), float(statement.rstrip().endswith("?")),
        claim_neg, claim_refute * refute_near, claim_neg * neg_near,
        math.log1p(len(all_words)),
    ]

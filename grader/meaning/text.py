"""The pure text side of judging a free response by meaning: the units an answer is cut into, which
words a negation covers, and whether a clause flips one of an author's antonym pairs.

Why clauses and not whole answers: one sentence often carries two ideas, one right and one wrong
("LoRA freezes the low rank matrices and trains all the other parameters"). Embedding the sentence
as a whole blurs them; cut at clause boundaries, each part can be matched, and denied, on its own.
Sentences are kept as units too, so an idea spread over a sentence's clauses is still found.

Why not a sentence-splitting or negation library: students' answers are a few short sentences with
missing capitals and full stops, and what matters here is the *clause* cut at discourse markers
("but", "instead of", "so", "and"), which sentence splitters (pysbd, punkt) do not do; negation cues
in English answers are a short closed list. The rules below are small, tested on the evaluation set
(``tests/fixtures/free_response_eval.yaml``) and measured in ``benchmarks/free_response.py``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_ANSWER_CHARS = 5_000
"""Characters of an answer that are judged (the widget's and the files' answers are cut here)."""
MAX_UNITS = 64
"""Units judged per answer: bounds the embedding work a very long or hostile answer can cause."""
MIN_UNIT_WORDS = 2
MIN_COMMA_WORDS = 3

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*\n\s*\n\s*|\s*(?:\n\s*[-*•]\s+)")
_CLAUSE_CUT = re.compile(
    r"\s*[;:]\s+|\s*\(\s*|\s*\)\s*|\s+[-–—]+\s+"
    r"|,?\s+\b(?:but|whereas|while|although|though|however|so that|so|because|since|instead of|rather than"
    r"|which means|which makes|meaning|and then|and also|and|then|thus|therefore|hence|plus)\b,?\s+",
    re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z0-9]+)*", re.IGNORECASE)

NEGATION_CUES = frozenset({
    "not", "no", "never", "none", "nothing", "neither", "nor", "without", "cannot", "cant", "isnt", "arent",
    "doesnt", "dont", "didnt", "wont", "wasnt", "werent", "hasnt", "havent", "shouldnt", "couldnt", "nobody",
    "instead",
})
"""Words that deny what follows them within their clause ('not', 'without', 'isn't' → 'isnt')."""
SCOPE_ENDS = frozenset({"but", "however", "although", "though", "whereas", "while", "so", "because", "since",
                        "which", "that", "then", "instead", "rather"})
"""Words that end a negation's scope (the next clause says something of its own)."""
MAX_SCOPE = 12
"""Words a negation reaches at most: 'not' rarely denies something ten words on."""

STOPWORDS = frozenset(
    ["a", "an", "the", "of", "to", "in", "on", "for", "with", "by", "at", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "it's", "this", "that", "these", "those", "and", "or", "but", "so", "than", "then", "there", "their", "they", "them", "which", "who", "what", "when", "how", "why", "can", "could", "would", "should", "will", "may", "might", "do", "does", "did", "has", "have", "had", "just", "also", "very", "much", "many", "more", "most", "less", "least", "some", "any", "each", "every", "all", "only", "into", "onto", "from", "over", "under", "about", "up", "down", "out", "off", "our", "your", "you", "we", "i", "he", "she", "his", "her", "my", "me", "us", "while", "such"])


@dataclass(frozen=True)
class Unit:
    """One piece of an answer that is matched on its own: a sentence, or a clause of one."""

    text: str
    sentence: int
    """Index of the sentence it comes from."""
    is_sentence: bool


def words(text: str) -> list[str]:
    """Lower-case words of ``text``; apostrophes dropped so "isn't" reads 'isnt'."""
    return [w.lower().replace("'", "").replace("’", "") for w in _WORD.findall(text)]


def stem(word: str) -> str:
    """A crude English stem ('removes', 'removed', 'removing' → 'remov'): enough to match an author's
    antonym or a reference word in another inflection, without a stemming library."""
    word = word.lower()
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s", "e", "d"):
        if len(word) - len(suffix) >= 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def sentences(answer: str) -> list[str]:
    """The sentences of ``answer`` (cut at ., !, ? followed by a space, at blank lines and list bullets)."""
    text = answer[:MAX_ANSWER_CHARS].strip()
    return [s.strip(" \t\n-*•") for s in _SENTENCE_END.split(text) if s and len(words(s)) >= 1]


def clauses(sentence: str) -> list[str]:
    """A sentence cut at clause boundaries: ; and :, brackets, dashes, and connectives such as 'but',
    'so', 'instead of', 'and'. Pieces of fewer than :data:`MIN_UNIT_WORDS` words join the piece before."""
    pieces: list[str] = []
    for piece in (p for part in _CLAUSE_CUT.split(sentence) for p in _comma_parts(part)):
        piece = piece.strip(" ,.")
        if not piece:
            continue
        if pieces and len(words(piece)) < MIN_UNIT_WORDS:
            pieces[-1] = f"{pieces[-1]} {piece}"
        else:
            pieces.append(piece)
    return pieces


def is_term_list(text: str) -> bool:
    """Whether ``text`` is a bare list of terms ('low rank, adapter, freeze, fewer parameters, GPU'):
    it names ideas without stating any, so it is not evidence for or against a concept."""
    items = [i for i in re.split(r"[,;/+]|\band\b", text) if i.strip()]
    return len(items) >= 4 and sum(len(words(i)) for i in items) / len(items) <= 2.5


def _comma_parts(text: str) -> list[str]:
    """``text`` cut at commas where both sides have at least :data:`MIN_COMMA_WORDS` words: 'Instead of
    changing the big model, you bolt on two skinny matrices' holds two ideas; 'small, low-rank
    matrices' holds one."""
    parts = [p for p in re.split(r",\s+", text) if p.strip()]
    merged: list[str] = []
    for part in parts:
        if merged and (len(words(part)) < MIN_COMMA_WORDS or len(words(merged[-1])) < MIN_COMMA_WORDS):
            merged[-1] = f"{merged[-1]}, {part}"
        else:
            merged.append(part)
    return merged


def units(answer: str) -> list[Unit]:
    """Every sentence of ``answer`` and, where it has several, each of its clauses (at most :data:`MAX_UNITS`)."""
    out: list[Unit] = []
    for index, text in enumerate(sentences(answer)):
        out.append(Unit(text, index, True))
        parts = clauses(text)
        if len(parts) > 1:
            out.extend(Unit(part, index, False) for part in parts)
        if len(out) >= MAX_UNITS:
            break
    return out[:MAX_UNITS]


def content_stems(text: str) -> set[str]:
    """Stems of the words of ``text`` that carry meaning (no stop words, no negation cues)."""
    return {stem(w) for w in words(text) if w not in STOPWORDS and w not in NEGATION_CUES and len(w) > 1}


_TOKEN = re.compile(r"[a-z0-9]+(?:['’][a-z0-9]+)*|[,.;:!?()\[\]–—]", re.IGNORECASE)


def polarity(text: str) -> tuple[set[str], set[str]]:
    """(stated, denied): stems of the content words of ``text`` outside and inside a negation's scope.

    A scope runs from a cue ('not', 'without', "isn't", 'instead of'…) to the end of its clause
    (punctuation or a connective such as 'but'), at most :data:`MAX_SCOPE` words: 'it is not about
    low-rank adapters' denies {'about', 'low', 'rank', 'adapter'}. A word can be both (stated once,
    denied elsewhere)."""
    tokens = [t.lower().replace("'", "").replace("’", "") for t in _TOKEN.findall(text)]
    covered: set[int] = set()
    for i, token in enumerate(tokens):
        if token not in NEGATION_CUES:
            continue
        following = tokens[i + 1:]
        if token == "instead" and following[:1] != ["of"]:
            continue
        if token == "no" and following[:1] and following[0] in {"longer", "matter"}:
            continue
        for reached, follower in enumerate(following[:MAX_SCOPE]):
            if not follower[0].isalnum() or (follower in SCOPE_ENDS and follower != "instead"):
                break
            covered.add(i + 1 + reached)
    stated: set[str] = set()
    denied: set[str] = set()
    for i, token in enumerate(tokens):
        if not token[0].isalnum() or token in STOPWORDS or token in NEGATION_CUES or len(token) < 2:
            continue
        (denied if i in covered else stated).add(stem(token))
    return stated, denied


def negated_stems(text: str) -> set[str]:
    """Stems of the content words that a negation in ``text`` covers (see :func:`polarity`)."""
    return polarity(text)[1]


def polarity_clash(unit: str, reference: str, keys: set[str]) -> str | None:
    """The key word (stem) that ``unit`` denies while ``reference`` states it ('it is not about low-rank
    adapters' against 'LoRA adds small low-rank matrices'), or None. ``keys`` are the concept's own
    words (not the question's common ones such as 'model' or 'weights'), so 'instead of changing the
    big model' does not deny 'LoRA adds small matrices to the model'.

    Only this direction is checked: a reference that itself holds a negation ('the problem of not
    having enough memory') would otherwise make every answer that mentions memory look turned around;
    authors write statements positively and list antonyms and contradictions for the rest."""
    unit_yes, unit_neg = polarity(unit)
    ref_yes, ref_neg = polarity(reference)
    denied = (unit_neg & ref_yes & keys) - ref_neg - unit_yes
    return min(denied) if denied else None


def has_phrase(text_stems: list[str], phrase: str) -> bool:
    """Whether the stems of ``phrase`` occur in a row in ``text_stems``."""
    target = [stem(w) for w in words(phrase)]
    if not target:
        return False
    n = len(target)
    return any(text_stems[i:i + n] == target for i in range(len(text_stems) - n + 1))


def antonym_sides(pair: list[str]) -> tuple[list[str], list[str]]:
    """An author's antonym pair as two lists of alternatives: ``[frozen|untouched, retrained|updated]``."""
    return ([a.strip() for a in pair[0].split("|") if a.strip()], [b.strip() for b in pair[1].split("|") if b.strip()])


def _sides(text: str, one: list[str], other: list[str]) -> tuple[set[int], str]:
    """Which sides (0, 1) of an antonym pair ``text`` takes, a word inside a negation counting for the
    other side ('does not touch' is 'untouched'), and one word that showed it."""
    stems = [stem(w) for w in words(text)]
    _, denied = polarity(text)
    taken: set[int] = set()
    shown = ""
    for side, phrases in ((0, one), (1, other)):
        for phrase in phrases:
            if has_phrase(stems, phrase):
                negated = bool({stem(w) for w in words(phrase)} & denied)
                taken.add(side ^ negated)
                shown = shown or (f"not {phrase}" if negated else phrase)
    return taken, shown


def antonym_flip(unit: str, reference: str, pairs: list[list[str]]) -> tuple[str, str] | None:
    """The (reference's word, student's word) of an author's antonym pair that ``unit`` uses the other
    way round from ``reference`` ('removes' where the reference says 'keeps'), or None. Each side of a
    pair may list alternatives separated by '|' (frozen|untouched|unchanged against retrained|updated);
    a word inside a negation counts for the other side ('not retrained' is on the 'frozen' side)."""
    for pair in pairs:
        one, other = antonym_sides(pair)
        unit_side, said = _sides(unit, one, other)
        ref_side, meant = _sides(reference, one, other)
        if len(unit_side) == 1 and len(ref_side) == 1 and unit_side != ref_side:
            return meant, said
    return None


SUBJECT = re.compile(r"\b[A-Za-z]*[A-Z][a-z]*[A-Z][A-Za-z]*(?:['’]s)?\b")
"""Acronym-like names ('LoRA', 'QLoRA', 'NF4' not included: one capital): the question's subject."""


def subject_terms(prompt: str) -> frozenset[str]:
    """Names the question is about ('LoRA', 'QLoRA', 'AI' in 'how QLoRA improves on LoRA'): every answer
    and every reference repeats them, so left in they make any two sentences look alike."""
    return frozenset(m.group(0).split("'")[0].split("’")[0] for m in SUBJECT.finditer(prompt))


def mask_subject(text: str, terms: frozenset[str]) -> str:
    """``text`` with the question's subject names replaced by 'it', before embedding."""
    if not terms:
        return text
    pattern = r"\b(?:" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + r")(?:['’]s)?\b"
    return re.sub(pattern, "it", text, flags=re.IGNORECASE)

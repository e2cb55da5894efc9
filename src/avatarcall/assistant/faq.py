"""The company's FAQ, one YAML file per language, and the entry that best answers a question.

A file is a list of entries: an ``id``, the ``questions`` people ask for it, its ``answer``.
The questions are indexed with BM25 (``bm25s``) over stemmed words (Snowball, through
PyStemmer), stop words left out; an entry scores what its best-matching question scores (the
answers are not indexed: their words matched questions about something else). The best entry
answers only if it shares at least half of the question's words (``min_coverage``): BM25's
scores depend on the size of the FAQ, the share of words does not. Otherwise the assistant
keeps the question for the agent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import bm25s
import Stemmer
import yaml
from bm25s import stopwords

SHIPPED = Path(__file__).with_name("faq")  # the example FAQ, until an operator gives theirs
STEMMERS = {"en": "english", "fr": "french"}
# Beside the usual ones, the words of asking ("I would like...") that say nothing of what.
STOP_WORDS = {
    "en": frozenset(stopwords.STOPWORDS_EN_PLUS) | {"want", "need", "like", "please", "get", "hi",
                                                    "hello", "thanks", "thank"},
    "fr": frozenset(stopwords.STOPWORDS_FRENCH) | {"veux", "voudrais", "voudrait", "aimerais",
                                                   "besoin", "être", "avoir", "faire", "svp",
                                                   "merci", "bonjour", "peux", "puis"},
}
DEFAULT_MIN_COVERAGE = 0.5  # measured on the shipped FAQ: see tests/unit/test_assistant.py
_WORD = re.compile(r"\w+")


class FaqError(ValueError):
    """A FAQ file that cannot be used, with where and why."""


@dataclass(frozen=True)
class FaqEntry:
    id: str
    questions: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class Match:
    entry: FaqEntry
    score: float  # BM25
    coverage: float  # the share of the question's words that the entry's questions have


class Faq:
    """One language's entries, indexed."""

    def __init__(self, language: str, entries: Iterable[FaqEntry],
                 min_coverage: float = DEFAULT_MIN_COVERAGE) -> None:
        self.language = language
        self.entries = tuple(entries)
        self.min_coverage = min_coverage
        self._stemmer = Stemmer.Stemmer(STEMMERS.get(language, "english"))
        self._stop = STOP_WORDS.get(language, STOP_WORDS["en"])
        self._owner: list[int] = []  # the entry of each indexed text
        texts: list[list[str]] = []
        self._vocabulary: list[frozenset[str]] = []  # each entry's words
        for i, entry in enumerate(self.entries):
            for text in entry.questions:
                texts.append(self.words(text))
                self._owner.append(i)
            self._vocabulary.append(frozenset(w for t in entry.questions for w in self.words(t)))
        self._index = bm25s.BM25()
        if texts:
            self._index.index(texts, show_progress=False)

    def sentences(self) -> list[str]:
        """What people here say and hear: every question, and the answers' sentences (what a
        speech recogniser's language model is made of)."""
        said = [q for e in self.entries for q in e.questions]
        return said + [s for e in self.entries for s in re.split(r"(?<=[.!?;])\s+", e.answer)]

    def words(self, text: str) -> list[str]:
        """What is indexed of ``text``: its words, lower case, stop words out, stemmed."""
        plain = unicodedata.normalize("NFKC", text).lower()
        return self._stemmer.stemWords([w for w in _WORD.findall(plain) if w not in self._stop])

    def top(self, question: str, k: int = 3) -> list[FaqEntry]:
        """The ``k`` entries closest to ``question`` (what a chat model may answer from)."""
        query = [w for w in self.words(question) if w]
        if not query or not self._owner:
            return []
        docs, scores = self._index.retrieve([query], k=min(len(self._owner), 4 * k),
                                            show_progress=False)
        found: list[FaqEntry] = []
        for doc, score in zip(docs[0], scores[0], strict=True):
            entry = self.entries[self._owner[int(doc)]]
            if float(score) > 0 and entry not in found:
                found.append(entry)
        return found[:k]

    def best(self, question: str) -> Match | None:
        """The entry that answers ``question`` best, if it has enough of its words."""
        query = [w for w in self.words(question) if w]
        if not query or not self._owner:
            return None
        docs, scores = self._index.retrieve([query], k=1, show_progress=False)
        owner, score = self._owner[int(docs[0][0])], float(scores[0][0])
        coverage = sum(w in self._vocabulary[owner] for w in query) / len(query)
        if score <= 0 or coverage < self.min_coverage:
            return None
        return Match(self.entries[owner], score, coverage)


def read_entries(path: Path) -> list[FaqEntry]:
    """The entries of one YAML file; :class:`FaqError` says what is wrong with it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FaqError(f"{path}: {exc}") from None
    if not isinstance(data, list):
        raise FaqError(f"{path}: expected a list of entries (id, questions, answer)")
    entries = []
    for n, item in enumerate(data, 1):
        if not isinstance(item, Mapping):
            raise FaqError(f"{path}: entry {n} is not a mapping")
        questions = item.get("questions")
        answer = item.get("answer")
        if (not isinstance(questions, list) or not questions
                or not all(isinstance(q, str) and q.strip() for q in questions)):
            raise FaqError(f"{path}: entry {n} needs 'questions', a list of texts")
        if not isinstance(answer, str) or not answer.strip():
            raise FaqError(f"{path}: entry {n} needs an 'answer' text")
        entries.append(FaqEntry(str(item.get("id") or n), tuple(q.strip() for q in questions),
                                answer.strip()))
    return entries


def load_faqs(directory: Path | None = None,
              min_coverage: float = DEFAULT_MIN_COVERAGE) -> dict[str, Faq]:
    """Every ``<language>.yaml`` of ``directory`` (the shipped example when None)."""
    folder = directory or SHIPPED
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise FaqError(f"{folder}: no FAQ file (<language>.yaml, e.g. en.yaml)")
    return {f.stem: Faq(f.stem, read_entries(f), min_coverage) for f in files}

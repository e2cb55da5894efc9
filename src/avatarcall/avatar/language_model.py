"""The language model pocketsphinx hears customers with: what they ask here, and English.

A bigram model of the sentences said here (the FAQ's questions and answers, the queue's own
phrases), interpolated with the most common words of the general English model that ships with
pocketsphinx (its unigrams). The FAQ's phrasing is expected, so its questions are heard well;
but a customer who says something else is heard saying it instead of being forced into the
FAQ's words — which used to answer questions nobody asked (`avatarcall bench conversation`
counts both). Written as ARPA text, normalised: every context's probabilities sum to one.
"""

from __future__ import annotations

import collections
import itertools
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

GENERAL_WORDS = 10_000  # the general model's most common words heard beside the FAQ's
GENERAL_WEIGHT = 0.1  # their share of the probability (measured: bench conversation)
BACKOFF = 0.3  # the FAQ model's share for a word never seen after the previous one
_UNSEEN = -(2**28)  # below this, pocketsphinx's model does not know the word


def general_words(pronounced: Iterable[str], size: int = GENERAL_WORDS) -> dict[str, float]:
    """The ``size`` most common words of pocketsphinx's English model among ``pronounced``,
    with their probabilities (summing to one). Reading the model is a memory map: ~0.1 s."""
    from pocketsphinx import NGramModel, get_model_path

    model = NGramModel.readfile(str(Path(get_model_path()) / "en-us" / "en-us.lm.bin"))
    logs = {word: model.prob([word]) for word in pronounced}  # in the library's log base
    common = sorted(((v, w) for w, v in logs.items() if v > _UNSEEN), reverse=True)[:size]
    weights = {w: 1.0001 ** v for v, w in common}  # pocketsphinx's LogMath base
    total = sum(weights.values())
    return {w: p / total for w, p in weights.items()}


def arpa(sentences: Iterable[list[str]], general: Mapping[str, float] | None = None,
         weight: float = GENERAL_WEIGHT) -> str:
    """An ARPA bigram model of ``sentences`` (lists of words), interpolated with ``general``
    (word -> probability) at ``weight``; without ``general``, the sentences' model alone."""
    general = general or {}
    own = 1.0 - weight if general else 1.0
    counts: collections.Counter[str] = collections.Counter()  # as a word heard (no <s>)
    pairs: collections.Counter[tuple[str, str]] = collections.Counter()
    for words in sentences:
        tokens = ["<s>", *words, "</s>"]
        counts.update(tokens[1:])
        pairs.update(itertools.pairwise(tokens))
    total, size = sum(counts.values()), len(counts)
    sentence_p = {w: (c + 0.5) / (total + 0.5 * size) for w, c in counts.items()}  # add-half
    unigram = {w: own * sentence_p.get(w, 0.0) + (1.0 - own) * general.get(w, 0.0)
               for w in sentence_p.keys() | general.keys()}
    after: dict[str, dict[str, float]] = collections.defaultdict(dict)
    contexts = collections.Counter[str]()
    for (a, _), c in pairs.items():
        contexts[a] += c
    for (a, b), c in pairs.items():
        seen = (1.0 - BACKOFF) * c / contexts[a] + BACKOFF * sentence_p[b]
        after[a][b] = own * seen + (1.0 - own) * general.get(b, 0.0)

    def backoff(word: str) -> float:  # what the unseen words keep, in the unigrams' shape
        if word not in after:
            return 0.0
        left = 1.0 - sum(after[word].values())
        room = 1.0 - sum(unigram[b] for b in after[word])
        return math.log10(max(left, 1e-9) / max(room, 1e-9))

    heard = sorted((w, p) for w, p in unigram.items() if p > 0)
    lines = ["\\data\\", f"ngram 1={len(heard) + 1}",
             f"ngram 2={sum(map(len, after.values()))}", "", "\\1-grams:",
             f"-99.0000 <s> {backoff('<s>'):.4f}"]
    lines += [f"{math.log10(p):.4f} {w} {backoff(w):.4f}" for w, p in heard]
    lines += ["", "\\2-grams:"]
    lines += [f"{math.log10(p):.4f} {a} {b}" for a, followers in after.items()
              for b, p in followers.items()]
    return "\n".join([*lines, "", "\\end\\", ""])

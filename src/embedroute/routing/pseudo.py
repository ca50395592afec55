"""Pseudo-queries from a collection's own documents: routing data for a collection with no labelled queries.

Each generator turns one document into one query, and that document counts as its only relevant one
(the inverse cloze task, Lee et al. 2019; Contriever's cropping, Izacard et al. 2021; the pseudo-query
line of ``PAPERS.md`` §14). Generators, by their registered name:

- ``title``: the document's title (documents without one, or with a one-word title, give none);
- ``crop``: one sentence of the text, or a span of it when the text has no sentence of query length;
- ``keywords``: the document's highest-weighted TF-IDF terms, in the order they appear in it;
- ``masked``: a ``crop`` with its rarer half of terms dropped, so that the words left are the ones
  every document shares and the verbatim rare-term match that favours lexical experts is gone.

Verbatim text from a document is a lexical query: titles and crops favour BM25 far more than real
queries do (issue #16's probe), so each generator is measured on its own against the labelled queries of
the dev sets (``benchmarks/pseudo_queries.py``) rather than assumed to teach the right routing.

Hand-written: the generators are a few lines each around scikit-learn's ``CountVectorizer`` (the
tokeniser and document frequencies); no library makes retrieval pseudo-queries without a generative model.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..registry import Registry

#: scikit-learn's default token pattern (words of two or more letters or digits, any script)
TOKEN = re.compile(r"(?u)\b\w\w+\b")
#: sentence ends: ., ! or ? (and their full-width forms) followed by space
SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")
#: the length, in words, a crop or keyword query may have
MIN_WORDS, MAX_WORDS = 3, 24


@dataclass(frozen=True)
class PseudoQuery:
    """A query made from the document ``doc_id`` by the generator ``generator``; ``doc_id`` is its one
    relevant document."""

    text: str
    doc_id: str
    generator: str


@dataclass(frozen=True)
class SourceDocument:
    """What a generator reads of a document: its id, title and text."""

    id: str
    title: str | None
    text: str


class QueryGenerator(ABC):
    """Makes one pseudo-query from a document, or None when the document has nothing to make it from."""

    name: str = ""

    @abstractmethod
    def generate(self, doc: SourceDocument, idf: dict[str, float], rng: np.random.Generator) -> str | None:
        """A query for ``doc``; ``idf`` weighs terms over the sampled documents, ``rng`` draws the crop."""


GENERATORS: Registry[QueryGenerator] = Registry("pseudo-query generator")


def words(text: str) -> list[str]:
    """The text's tokens, lower-cased, as scikit-learn's default tokeniser finds them.

    >>> words("Vitamin D3 and bone-density, 2019.")
    ['vitamin', 'd3', 'and', 'bone', 'density', '2019']
    """
    return TOKEN.findall(text.lower())


class TitleGenerator(QueryGenerator):
    """The document's title, when it has one of two words or more."""

    name = "title"

    def generate(self, doc: SourceDocument, idf: dict[str, float], rng: np.random.Generator) -> str | None:
        """The title itself."""
        title = (doc.title or "").strip()
        return title if len(words(title)) >= 2 else None


class CropGenerator(QueryGenerator):
    """A random sentence of ``MIN_WORDS`` to ``MAX_WORDS`` words (inverse cloze), else a random span of
    that length from the text."""

    name = "crop"

    def generate(self, doc: SourceDocument, idf: dict[str, float], rng: np.random.Generator) -> str | None:
        """One sentence or span of the text, as written."""
        sentences = [s for s in SENTENCE_END.split(doc.text) if MIN_WORDS <= len(words(s)) <= MAX_WORDS]
        if sentences:
            return sentences[int(rng.integers(len(sentences)))].strip()
        tokens = doc.text.split()
        if len(tokens) < MIN_WORDS:
            return None
        size = int(rng.integers(MIN_WORDS, min(MAX_WORDS, len(tokens)) + 1))
        start = int(rng.integers(len(tokens) - size + 1))
        return " ".join(tokens[start : start + size])


class KeywordGenerator(QueryGenerator):
    """Three to six of the document's highest TF-IDF terms (sublinear tf, ``1 + ln tf``, so that a common
    word repeated in a long document does not outweigh its rare terms), in the order they first appear."""

    name = "keywords"

    def generate(self, doc: SourceDocument, idf: dict[str, float], rng: np.random.Generator) -> str | None:
        """The top terms by term frequency x idf."""
        tokens = words(f"{doc.title or ''} {doc.text}")
        if len(set(tokens)) < MIN_WORDS:
            return None
        counts: dict[str, int] = {}
        for t in tokens:
            counts[t] = counts.get(t, 0) + 1
        weight = {t: (1 + math.log(c)) * idf.get(t, 0.0) for t, c in counts.items()}  # sublinear tf
        k = int(rng.integers(MIN_WORDS, 7))
        top = set(sorted(weight, key=lambda t: (-weight[t], t))[:k])
        return " ".join(dict.fromkeys(t for t in tokens if t in top))


class MaskedCropGenerator(QueryGenerator):
    """A ``crop`` with the rarer half of its distinct terms (by idf) dropped: what is left are the common
    words, so an expert must match the crop's meaning rather than its rare terms."""

    name = "masked"

    def generate(self, doc: SourceDocument, idf: dict[str, float], rng: np.random.Generator) -> str | None:
        """The crop without its rarer terms."""
        crop = CropGenerator().generate(doc, idf, rng)
        if crop is None:
            return None
        terms = sorted(set(words(crop)), key=lambda t: (-idf.get(t, 0.0), t))
        drop = set(terms[: len(terms) // 2])
        kept = [w for w in crop.split() if not (set(words(w)) & drop)]
        return " ".join(kept) if len(words(" ".join(kept))) >= 2 else None


for _cls in (TitleGenerator, CropGenerator, KeywordGenerator, MaskedCropGenerator):
    GENERATORS.register(_cls.name, _cls)

#: what routing data is made of when no generator is named: every generator, mixed
DEFAULT_GENERATORS = ("title", "crop", "keywords", "masked")
#: the most pseudo-queries made by default: enough for the routers' train CV, few enough to stay in minutes
MAX_QUERIES = 2000


def document_idf(docs: Sequence[SourceDocument]) -> dict[str, float]:
    """Smoothed inverse document frequency of every term over ``docs`` (scikit-learn's formula)."""
    from sklearn.feature_extraction.text import CountVectorizer

    texts = [f"{d.title or ''} {d.text}" for d in docs]
    vec = CountVectorizer(token_pattern=TOKEN.pattern, lowercase=True, binary=True)
    try:
        counts = vec.fit_transform(texts)
    except ValueError:  # no document has a single term
        return {}
    df = np.asarray(counts.sum(axis=0)).ravel()
    idf = np.log((1 + len(texts)) / (1 + df)) + 1.0
    return dict(zip(vec.get_feature_names_out().tolist(), idf.tolist()))


def generator_names(generators: Sequence[str]) -> tuple[str, ...]:
    """The generators named, each once, in the order given (one name may come as a plain string); an
    unknown name is an UnknownNameError and none at all an InputError, before any work.

    >>> generator_names("title"), generator_names(["crop", "title", "crop"])
    (('title',), ('crop', 'title'))
    """
    names = (generators,) if isinstance(generators, str) else tuple(dict.fromkeys(generators))
    if not names:
        raise InputError("name at least one pseudo-query generator", field="generators")
    for g in names:
        GENERATORS.get(g)
    return names


def make_pseudo_queries(
    docs: Sequence[SourceDocument],
    generators: Sequence[str] = DEFAULT_GENERATORS,
    *,
    seed: int = 0,
) -> list[PseudoQuery]:
    """One pseudo-query per document and generator, where the generator can make one; the documents'
    order and ``seed`` fix every crop, so the same inputs give the same queries."""
    made = [GENERATORS.get(g)() for g in generator_names(generators)]  # an unknown name fails before any work
    idf = document_idf(docs)
    rng = np.random.default_rng(seed)
    out: list[PseudoQuery] = []
    for doc in docs:
        for gen in made:
            text = gen.generate(doc, idf, rng)
            if text:
                out.append(PseudoQuery(text, doc.id, gen.name))
    return out


def generator_settings(generators: Sequence[str], **extra: Any) -> dict[str, Any]:
    """What is saved with a router fitted on pseudo-queries: the generators and their fixed settings."""
    return {
        "kind": "pseudo-queries",
        "generators": list(generator_names(generators)),
        "crop_words": [MIN_WORDS, MAX_WORDS],
        "token_pattern": TOKEN.pattern,
        **extra,
    }

"""BEIR-format datasets: ``corpus.jsonl[.gz]``, ``queries.jsonl``, ``qrels/<split>.tsv``."""

from __future__ import annotations

import csv
import hashlib
import random
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..storage.jsonl import corpus_file, read_jsonl


@dataclass
class BeirDataset:
    """A BEIR data set split: its queries and qrels in memory, the corpus read from ``corpus_path`` when asked."""

    name: str
    path: Path
    split: str
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    corpus_path: Path
    #: the qrels file's split when it differs from ``split`` (halves of ``test`` made by split_queries)
    qrels_split: str | None = None
    #: judged queries of the split that ``queries.jsonl`` lacks (left out: not evaluated, not in ``qrels``)
    missing_queries: int = 0

    @property
    def checksum(self) -> str:
        """sha256 over the corpus, queries and this split's qrels files."""
        h = hashlib.sha256()
        qrels = self.path / "qrels" / f"{self.qrels_split or self.split}.tsv"
        for p in (self.corpus_path, self.path / "queries.jsonl", qrels):
            with open(p, "rb") as f:
                while block := f.read(1 << 20):
                    h.update(block)
        return h.hexdigest()

    def corpus(self) -> list[dict[str, Any]]:
        """Every corpus document as ``{"id", "title", "text"}``; an entry without ``_id`` is an InputError naming its
        line."""
        out = []
        for line, obj in read_jsonl(self.corpus_path):
            if not isinstance(obj, dict) or obj.get("_id") is None:
                raise InputError(
                    'expected a JSON object with an "_id"', source=str(self.corpus_path), line=line, field="_id"
                )
            out.append({"id": str(obj["_id"]), "title": obj.get("title") or None, "text": obj.get("text") or ""})
        return out


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """A BEIR qrels TSV (query id, corpus id, score; optional header) as ``{query: {doc: relevance}}``."""
    qrels: dict[str, dict[str, int]] = {}
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        for n, row in enumerate(reader, start=1):
            if not row or (n == 1 and not row[-1].lstrip("-").isdigit()):
                continue  # header line
            if len(row) < 3:
                raise InputError("expected query-id, corpus-id, score", source=str(path), line=n)
            try:
                score = int(row[-1])
            except ValueError:
                raise InputError(
                    f"score {row[-1]!r} is not an integer", source=str(path), line=n, field="score"
                ) from None
            qrels.setdefault(row[0], {})[row[-2]] = score
    return qrels


def _qrels_file(p: Path, split: str) -> Path:
    """``p/qrels/SPLIT.tsv``, or an InputError saying the folder is missing or which splits it has."""
    if not p.is_dir():
        raise InputError("no such BEIR folder (it needs queries.jsonl, corpus.jsonl and qrels/)", source=str(p))
    qrels_path = p / "qrels" / f"{split}.tsv"
    if not qrels_path.exists():
        splits = sorted(q.stem for q in (p / "qrels").glob("*.tsv")) if (p / "qrels").exists() else []
        raise InputError(f"no qrels for split {split!r} (available: {', '.join(splits) or 'none'})", source=str(p))
    return qrels_path


def load_beir(path: str | Path, split: str = "test", *, strict: bool = False) -> BeirDataset:
    """Queries that have judgements in ``split``, their qrels, and the corpus location.

    Published sets sometimes judge queries that ``queries.jsonl`` does not hold; those are left out
    with a warning giving their count (``missing_queries``), and the rest are evaluated. ``strict``
    refuses such a set instead. A set none of whose judged queries exist is always refused.
    """
    p = Path(path)
    qrels = read_qrels(_qrels_file(p, split))
    queries_path = p / "queries.jsonl"
    if not queries_path.exists():
        raise InputError("file not found", source=str(queries_path))
    queries: dict[str, str] = {}
    for line, obj in read_jsonl(queries_path):
        if not isinstance(obj, dict):
            raise InputError(f"expected a JSON object, got {type(obj).__name__}", source=str(queries_path), line=line)
        qid = obj.get("_id")
        if not isinstance(qid, str | int) or isinstance(qid, bool) or not str(qid).strip():
            raise InputError(
                f"query id must be a non-empty string, got {qid!r}"[:200],
                source=str(queries_path),
                line=line,
                field="_id",
            )
        if str(qid) in qrels:
            text = obj.get("text")
            if not isinstance(text, str) or not text.strip():
                raise InputError(
                    "a judged query needs a non-empty string text", source=str(queries_path), line=line, field="text"
                )
            queries[str(qid)] = text
    missing = [q for q in qrels if q not in queries]
    if missing:
        what = (
            f"{len(missing)} of the {len(qrels)} queries judged in qrels/{split}.tsv are missing from "
            f"queries.jsonl (e.g. {missing[0]!r})"
        )
        if strict or not queries:
            raise InputError(what if queries else f"{what}: nothing to evaluate", source=str(queries_path))
        warnings.warn(f"{p}: {what}; evaluating the {len(queries)} that exist", stacklevel=2)
        qrels = {q: r for q, r in qrels.items() if q in queries}
    return BeirDataset(p.resolve().name, p, split, queries, qrels, corpus_file(p), missing_queries=len(missing))


def split_queries(ds: BeirDataset, fraction: float = 0.5, seed: int = 0) -> tuple[BeirDataset, BeirDataset]:
    """A reproducible train/test split of a dataset's judged queries (for sets with no train split)."""
    qids = sorted(ds.queries)
    random.Random(seed).shuffle(qids)
    cut = int(len(qids) * fraction)

    def part(ids: list[str], split: str) -> BeirDataset:
        keep = set(ids)
        return BeirDataset(
            ds.name,
            ds.path,
            split,
            {q: ds.queries[q] for q in ids},
            {q: r for q, r in ds.qrels.items() if q in keep},
            ds.corpus_path,
            ds.qrels_split or ds.split,
            ds.missing_queries,
        )

    return part(qids[:cut], "train-half"), part(qids[cut:], "test-half")


def train_and_test(path: str | Path) -> tuple[BeirDataset, BeirDataset]:
    """The training and test queries of a dataset: its ``train`` and ``test`` splits, or, without a
    train split, the 50/50 seed-0 halves of ``test`` (the same halves everywhere: routing, training)."""
    test = load_beir(path, "test")
    if (Path(path) / "qrels" / "train.tsv").exists():
        return load_beir(path, "train"), test
    return split_queries(test)

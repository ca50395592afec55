"""BEIR-format datasets: ``corpus.jsonl[.gz]``, ``queries.jsonl``, ``qrels/<split>.tsv``."""

from __future__ import annotations

import csv
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..storage.jsonl import corpus_file, read_jsonl


@dataclass
class BeirDataset:
    name: str
    path: Path
    split: str
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    corpus_path: Path
    #: the qrels file's split when it differs from ``split`` (halves of ``test`` made by split_queries)
    qrels_split: str | None = None

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

    def corpus(self) -> list[dict[str, str]]:
        return [{"id": str(obj["_id"]), "title": obj.get("title") or None, "text": obj.get("text") or ""}
                for _, obj in read_jsonl(self.corpus_path)]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
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
                raise InputError(f"score {row[-1]!r} is not an integer", source=str(path), line=n,
                                 field="score") from None
            qrels.setdefault(row[0], {})[row[-2]] = score
    return qrels


def load_beir(path: str | Path, split: str = "test") -> BeirDataset:
    """Queries that have judgements in ``split``, their qrels, and the corpus location."""
    p = Path(path)
    qrels_path = p / "qrels" / f"{split}.tsv"
    if not qrels_path.exists():
        splits = sorted(q.stem for q in (p / "qrels").glob("*.tsv")) if (p / "qrels").exists() else []
        raise InputError(f"no qrels for split {split!r} (available: {', '.join(splits) or 'none'})",
                         source=str(p))
    qrels = read_qrels(qrels_path)
    queries: dict[str, str] = {}
    for _, obj in read_jsonl(p / "queries.jsonl"):
        qid = str(obj.get("_id"))
        if qid in qrels:
            queries[qid] = obj.get("text", "")
    missing = [q for q in qrels if q not in queries]
    if missing:
        raise InputError(f"{len(missing)} judged queries missing from queries.jsonl (e.g. {missing[0]!r})",
                         source=str(p / "queries.jsonl"))
    return BeirDataset(p.resolve().name, p, split, queries, qrels, corpus_file(p))


def split_queries(ds: BeirDataset, fraction: float = 0.5, seed: int = 0) -> tuple[BeirDataset, BeirDataset]:
    """A reproducible train/test split of a dataset's judged queries (for sets with no train split)."""
    qids = sorted(ds.queries)
    random.Random(seed).shuffle(qids)
    cut = int(len(qids) * fraction)

    def part(ids: list[str], split: str) -> BeirDataset:
        keep = set(ids)
        return BeirDataset(ds.name, ds.path, split, {q: ds.queries[q] for q in ids},
                           {q: r for q, r in ds.qrels.items() if q in keep}, ds.corpus_path,
                           ds.qrels_split or ds.split)

    return part(qids[:cut], "train-half"), part(qids[cut:], "test-half")


def train_and_test(path: str | Path) -> tuple[BeirDataset, BeirDataset]:
    """The training and test queries of a dataset: its ``train`` and ``test`` splits, or, without a
    train split, the 50/50 seed-0 halves of ``test`` (the same halves everywhere: routing, training)."""
    test = load_beir(path, "test")
    if (Path(path) / "qrels" / "train.tsv").exists():
        return load_beir(path, "train"), test
    return split_queries(test)

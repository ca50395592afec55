"""Why the paper's pilot rule needs a routing space where domains are nearly orthogonal, and how the
``tfidf`` routing encoder's settings were chosen (on training queries only).

RouterRetriever's ``pilot`` rule (arXiv 2409.02685) scores an expert by its mean similarity to one
pilot per training dataset. Part 1 measures, per routing encoder, the cosine between pilots of the
same dataset and of different datasets, and the paper rule's test nDCG@10. Part 2 cross-validates the
paper rule on the training queries for eight TF-IDF settings, fitting the vectorizer inside each fold,
and reports the test figure of each setting beside it (the choice is made by the CV column).

    python benchmarks/pilot_geometry.py [--experts A,B,...] [--encoders tfidf,static-minilm,minilm]
                                        [--out benchmarks/results/pilot-geometry.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from pathlib import Path

import numpy as np

from embedroute.evaluation.routing import prepare
from embedroute.routing import RoutingData, make_router
from embedroute.routing.lexical import TfidfRoutingEncoder
from embedroute.routing.models import routing_model_from_spec

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DATA = ["scifact", "nfcorpus", "climate-fever-sentences"]
LORA = "minilm,minilm-q-scifact,minilm-q-nfcorpus,minilm-q-climate-fever-sentences"


def texts_and_scores(experts: list[str], work: Path) -> list[dict]:
    out = []
    for name in DATA:
        d = prepare(SHARED / name, experts, want_train=True, workdir=work, latency_sample=0, show_progress=False)
        tr, te = list(d.train.queries), sorted(d.ndcg[experts[0]])
        out.append(
            {
                "name": d.name,
                "train": [d.train.queries[q] for q in tr],
                "train_scores": np.array([[d.train_ndcg[e][q] for e in experts] for q in tr]),
                "test": [d.test.queries[q] for q in te],
                "test_scores": np.array([[d.ndcg[e][q] for e in experts] for q in te]),
            }
        )
    return out


def test_ndcg(router, encode, sets: list[dict], experts: list[str]) -> float:
    per = []
    for d in sets:
        chosen = [experts.index(r.experts[0]) for r in router.route(encode(d["test"]))]
        per.append(float(d["test_scores"][np.arange(len(chosen)), chosen].mean()))
    return float(np.mean(per))


def training(sets: list[dict]) -> tuple[list[str], list[str], np.ndarray]:
    """All training queries: their texts, datasets and per-expert nDCG@10."""
    return (
        [t for d in sets for t in d["train"]],
        [d["name"] for d in sets for _ in d["train"]],
        np.vstack([d["train_scores"] for d in sets]),
    )


def fit_pilot(enc, texts: list[str], labels: list[str], scores: np.ndarray, experts: list[str]):
    """The paper's pilot router on ``texts`` under ``enc``, fitting ``enc`` on them first if it learns."""
    if getattr(enc, "fits_on_queries", False):
        enc.fit(texts)
    return make_router("pilot").fit(RoutingData(experts, enc.encode_queries(texts), labels, scores))


def geometry(encoder_name: str, sets: list[dict], experts: list[str]) -> dict:
    enc = routing_model_from_spec(encoder_name)  # a QueryEncoder: a dense expert, or tfidf
    router = fit_pilot(enc, *training(sets), experts)
    sims = router.pilots @ router.pilots.T
    same = np.equal.outer(router.pilot_datasets, router.pilot_datasets) & ~np.eye(len(sims), dtype=bool)
    other = ~np.equal.outer(router.pilot_datasets, router.pilot_datasets)
    return {
        "encoder": encoder_name,
        "pilots": len(sims),
        "cos_same_dataset": round(float(sims[same].mean()), 3),
        "cos_other_dataset": {"mean": round(float(sims[other].mean()), 3), "sd": round(float(sims[other].std()), 3)},
        "pilot_test_ndcg@10": round(test_ndcg(router, enc.encode_queries, sets, experts), 4),
    }


def tfidf_cv(options: dict, sets: list[dict], experts: list[str], folds: int = 5, seed: int = 0) -> float:
    texts, labels, scores = training(sets)
    texts, labels = np.array(texts, dtype=object), np.array(labels)
    fold = np.random.default_rng(seed).permutation(len(texts)) % folds
    got = np.zeros(len(texts))
    for f in range(folds):
        held = fold == f
        enc = TfidfRoutingEncoder(**options)  # fitted without the held-out fold
        router = fit_pilot(enc, list(texts[~held]), list(labels[~held]), scores[~held], experts)
        chosen = router.scores(enc.encode_queries(list(texts[held]))).argmax(1)
        got[held] = scores[np.flatnonzero(held), chosen]
    return float(np.mean([got[labels == d].mean() for d in sorted(set(labels))]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experts", default=LORA)
    ap.add_argument("--encoders", default="tfidf,static-minilm,minilm")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "pilot-geometry.json"))
    args = ap.parse_args()
    experts = args.experts.split(",")
    with tempfile.TemporaryDirectory() as work:
        sets = texts_and_scores(experts, Path(work))
    result: dict = {"experts": experts, "datasets": DATA, "geometry": [], "tfidf_settings": []}
    print("routing encoder     pilots  cos same dataset  cos other datasets (mean ± sd)  pilot test nDCG@10")
    for name in args.encoders.split(","):
        g = geometry(name, sets, experts)
        result["geometry"].append(g)
        o = g["cos_other_dataset"]
        print(
            f"{name:<20}{g['pilots']:>6}{g['cos_same_dataset']:>18.3f}{o['mean']:>19.3f} ± {o['sd']:.3f}"
            f"{g['pilot_test_ndcg@10']:>24.4f}"
        )
    print("\nTF-IDF settings: the paper rule's 5-fold train CV (vectorizer fitted inside each fold) and test")
    for stop, ngram, min_df in itertools.product(["english", None], [1, 2], [1, 2]):
        options = {"stop_words": stop, "ngram_max": ngram, "min_df": min_df}
        enc = TfidfRoutingEncoder(**options)
        router = fit_pilot(enc, *training(sets), experts)
        row = options | {
            "train_cv": round(tfidf_cv(options, sets, experts), 4),
            "test": round(test_ndcg(router, enc.encode_queries, sets, experts), 4),
        }
        result["tfidf_settings"].append(row)
        print(
            f"  stop_words={str(stop):<8} ngram_max={ngram} min_df={min_df}  train CV {row['train_cv']:.4f}"
            f"  test {row['test']:.4f}"
        )
    best = max(result["tfidf_settings"], key=lambda r: r["train_cv"])
    result["chosen_by_cv"] = best
    print(f"chosen by train CV: {best}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Train a query-side LoRA expert: a LoRA adapter on the base encoder's query tower, trained against the
base expert's fixed document vectors, so the new expert searches those vectors (``documents_from``) and
adds no document encoding at all.

This is the shape of RouterRetriever's domain experts (Lee et al., AAAI 2025, arXiv 2409.02685: one
LoRA adapter per domain over a shared base encoder). Because the documents are fixed, the contrastive
loss can use every document of the corpus as a negative (a full softmax over the corpus, temperature
1/``scale``, several positives per query averaged in log space) instead of in-batch and mined hard
negatives; LoRA itself (Hu et al., ICLR 2022) comes from ``peft``. Hand-written here: only the plain
torch loop and the corpus-softmax loss.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..encoders.hashing import weight_hash
from ..encoders.transformer import TransformerEncoder
from ..encoders.versions import library_versions
from ..errors import InputError
from ..experts.trained import MANIFEST, trained_folder
from ..extras import require

DEFAULT_TARGETS = ("query", "key", "value", "dense")


def train_query_adapter(
    base: str | Path,
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    doc_ids: Sequence[str],
    doc_vectors: np.ndarray,
    out: str | Path,
    *,
    rank: int = 16,
    alpha: int = 32,
    dropout: float = 0.1,
    targets: Sequence[str] = DEFAULT_TARGETS,
    epochs: int = 4,
    batch_size: int = 32,
    lr: float = 5e-4,
    scale: float = 20.0,
    max_length: int = 64,
    seed: int = 0,
    bf16: bool = True,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Fit a LoRA adapter on ``base`` (a sentence-transformers folder) so its query vectors rank each
    query's judged documents (qrels score > 0) first among ``doc_vectors``; save it to ``out/adapter``.
    Returns the training record (steps, seconds, first and last loss)."""
    peft = require("train", "peft")
    import torch
    from sentence_transformers import SentenceTransformer
    from tqdm.auto import tqdm

    row = {d: i for i, d in enumerate(doc_ids)}
    examples = [
        (queries[q], [row[d] for d, s in rel.items() if s > 0 and d in row]) for q, rel in qrels.items() if q in queries
    ]
    examples = [(text, pos) for text, pos in examples if pos]
    if not examples:
        raise InputError("no training query has a judged document in the corpus", field="qrels")
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
    model.max_seq_length = max_length
    module: Any = model[0]
    lora = peft.LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(targets))
    module.model = peft.get_peft_model(module.model, lora)
    model.train()
    docs = torch.from_numpy(np.ascontiguousarray(doc_vectors, dtype=np.float32))
    docs = torch.nn.functional.normalize(docs, dim=1)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps_per_epoch = max(1, len(examples) // batch_size)
    total = steps_per_epoch * epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, total // 10)) * max(0.0, (total - s) / total)
    )
    losses: list[float] = []
    t0 = time.perf_counter()
    bar = tqdm(total=total, desc=f"train {Path(out).name}", unit="step", disable=not show_progress)
    for _ in range(epochs):
        rng.shuffle(examples)
        for start in range(0, steps_per_epoch * batch_size, batch_size):
            batch = examples[start : start + batch_size]
            features = model.preprocess([t for t, _ in batch])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                emb = model(features)["sentence_embedding"]
            q = torch.nn.functional.normalize(emb.float(), dim=1)
            logits = scale * (q @ docs.T)
            mask = torch.zeros_like(logits, dtype=torch.bool)
            for i, (_, pos) in enumerate(batch):
                mask[i, pos] = True
            loss = (torch.logsumexp(logits, 1) - torch.logsumexp(logits.masked_fill(~mask, -1e4), 1)).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
    bar.close()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    module.model.save_pretrained(str(out / "adapter"))
    return {
        "steps": len(losses),
        "seconds": round(time.perf_counter() - t0, 1),
        "examples": len(examples),
        "loss_first": round(float(np.mean(losses[:10])), 4),
        "loss_last": round(float(np.mean(losses[-10:])), 4),
        "hyperparameters": {
            "rank": rank,
            "alpha": alpha,
            "dropout": dropout,
            "targets": list(targets),
            "epochs": epochs,
            "batch_size": batch_size,
            "lr": lr,
            "scale": scale,
            "max_length": max_length,
            "seed": seed,
            "bf16": bf16,
        },
    }


def train_query_expert(
    data: str | Path,
    *,
    base: str = "minilm",
    name: str | None = None,
    out: str | Path | None = None,
    show_progress: bool = True,
    **options: Any,
) -> Path:
    """Train the query-side expert ``name`` (default ``BASE-q-DATASET``) on a BEIR directory's training
    queries (its train split, or the seed-0 half of test used everywhere else for training) against
    ``base``'s document vectors of that corpus; writes the adapter and ``query_adapter.json``."""
    from ..encoders.catalog import ENCODERS, get_encoder
    from ..evaluation.beir import train_and_test
    from ..experts.registry import EXPERTS

    require("train", "peft")  # before the corpus is encoded, not after
    train, test = train_and_test(data)
    name = name or f"{base}-q-{train.name}"
    if name in EXPERTS or name in ENCODERS or "/" in name or name.startswith((".", "~")):
        raise InputError(
            f"expert name {name!r} is taken by a built-in expert or looks like a path; give another --name",
            field="name",
        )
    folder = Path(out) if out else trained_folder(name)
    encoder = get_encoder(base)
    base_folder = encoder.path if isinstance(encoder, TransformerEncoder) else None
    if base_folder is None or not (Path(base_folder) / "modules.json").exists():
        raise InputError(f"base {base!r} is not a sentence-transformers model (LoRA needs its weights)", field="base")
    corpus = train.corpus()
    texts = [f"{d['title']} {d['text']}" if d["title"] else d["text"] for d in corpus]
    vectors = encoder.encode_documents(texts, show_progress=show_progress)
    record = train_query_adapter(
        base_folder,
        train.queries,
        train.qrels,
        [d["id"] for d in corpus],
        vectors,
        folder,
        show_progress=show_progress,
        **options,
    )
    manifest = {
        "name": name,
        "kind": "query-side LoRA expert",
        "base": base,
        "base_model": encoder.config()["model"],
        "base_weight_hash": weight_hash(base_folder),
        "documents_from": base,
        "adapter_hash": weight_hash(folder / "adapter"),
        "trained_on": {
            "dataset": train.name,
            "split": train.split,
            "queries": len(train.queries),
            "checksum": train.checksum,
            "held_out": test.split,
        },
        "training": record,
        "versions": library_versions(("torch", "transformers", "peft")),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return folder

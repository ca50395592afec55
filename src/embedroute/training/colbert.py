"""Train a ColBERT-style multi-vector expert: a base encoder plus a small linear head (default 128-d),
trained with the MaxSim in-batch contrastive loss and BM25 hard negatives (Khattab & Zaharia, SIGIR
2020, "ColBERT"; Santhanam et al. 2022, "ColBERTv2").

Model, loss and MaxSim scoring come from sentence-transformers' ``MultiVectorEncoder``; this module
only runs the plain torch loop (no ``datasets``/``accelerate`` needed) and writes ``embedroute.json``
beside the saved model saying exactly what it is.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..encoders.hashing import weight_hash
from ..encoders.versions import library_versions
from .pairs import Triple

QUERY_LEN = 32


def _features(model: Any, texts: list[str], task: str, max_length: int) -> dict[str, Any]:
    feats = model.preprocess(texts, task=task, max_length=max_length)
    feats["task"] = task
    return feats


def train_colbert(
    base: str | Path,
    triples: Sequence[Triple],
    out: str | Path,
    *,
    dim: int = 128,
    epochs: int = 1,
    batch_size: int = 32,
    lr: float = 3e-5,
    head_lr: float = 1e-3,
    doc_len: int = 180,
    scale: float = 1.0,
    seed: int = 0,
    max_steps: int | None = None,
    bf16: bool = True,
    show_progress: bool = True,
) -> Path:
    """Fine-tune ``base`` (a sentence-transformers folder) into a ``dim``-d multi-vector model at ``out``.

    ``bf16`` runs forward passes under bfloat16 autocast (weights and optimiser stay float32).
    """
    import torch
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.multi_vector_encoder.losses import MultiVectorMultipleNegativesRankingLoss

    torch.manual_seed(seed)
    random.seed(seed)
    model = MultiVectorEncoder(str(base), device="cpu", local_files_only=True)
    dense: Any = model[1]
    if dense.linear.out_features != dim:
        from sentence_transformers.base.modules import Dense

        model._modules["1"] = Dense(
            dense.linear.in_features,
            dim,
            bias=False,
            activation_function=torch.nn.Identity(),
            module_input_name="token_embeddings",
            module_output_name="token_embeddings",
        )
    loss_fn = MultiVectorMultipleNegativesRankingLoss(model, scale=scale)
    head = list(model[1].parameters())
    head_ids = {id(p) for p in head}
    body = [p for p in model.parameters() if id(p) not in head_ids]
    opt = torch.optim.AdamW([{"params": body, "lr": lr}, {"params": head, "lr": head_lr}], weight_decay=0.01)
    steps_per_epoch = len(triples) // batch_size
    total = steps_per_epoch * epochs if max_steps is None else min(max_steps, steps_per_epoch * epochs)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, total // 10)) * max(0.0, (total - s) / total)
    )
    model.train()
    bar = None
    if show_progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="train colbert", unit="step")
    t0, step, losses = time.perf_counter(), 0, []
    order = list(range(len(triples)))
    while step < total:
        random.shuffle(order)
        for b in range(steps_per_epoch):
            if step >= total:
                break
            batch = [triples[i] for i in order[b * batch_size : (b + 1) * batch_size]]
            feats = [
                _features(model, [t.query for t in batch], "query", QUERY_LEN),
                _features(model, [t.positive for t in batch], "document", doc_len),
                _features(model, [t.negative for t in batch], "document", doc_len),
            ]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = loss_fn(feats)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            step += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{sum(losses[-20:]) / len(losses[-20:]):.3f}")
    if bar is not None:
        bar.close()
    model.eval()
    out = Path(out)
    model.save(str(out))
    meta = {
        "kind": "multivector",
        "base": str(base),
        "base_weight_hash": weight_hash(base),
        "dim": dim,
        "query_len": QUERY_LEN,
        "doc_len": doc_len,
        "training": {
            "triples": len(triples),
            "datasets": sorted({t.dataset for t in triples}),
            "epochs": epochs,
            "steps": step,
            "batch_size": batch_size,
            "lr": lr,
            "head_lr": head_lr,
            "scale": scale,
            "bf16": bf16,
            "seed": seed,
            "loss_first_20": sum(losses[:20]) / max(1, len(losses[:20])),
            "loss_last_20": sum(losses[-20:]) / max(1, len(losses[-20:])),
            "seconds": round(time.perf_counter() - t0, 1),
        },
        "versions": library_versions(("torch", "transformers", "sentence-transformers")),
    }
    (out / "embedroute.json").write_text(json.dumps(meta, indent=1))
    return out

"""Evaluation: BEIR datasets, pytrec_eval metrics, and runs through real collections."""

from __future__ import annotations

from .beir import BeirDataset, load_beir
from .metrics import METRICS, evaluate_run, mean_metrics
from .runner import EvalResult, ExpertEval, evaluate

__all__ = [
    "METRICS",
    "BeirDataset",
    "EvalResult",
    "ExpertEval",
    "evaluate",
    "evaluate_run",
    "load_beir",
    "mean_metrics",
]

"""Attribute indexes: postings for str and list[str] values, sorted arrays for int, float and date.

Selectivity of a filter is estimated from posting sizes and binary searches alone (microseconds, no
mask built; ``and`` assumes independence, ``or`` inclusion-exclusion under it); ``allowed`` builds
the exact set of row ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .filters import Leaf, Node


class AttributeIndex:
    """Postings and sorted arrays over the documents' typed attributes, to estimate and evaluate filters."""

    def __init__(self, rids: np.ndarray, attributes: Sequence[Mapping[str, Any]], schema: Mapping[str, str]):
        self.rids = np.asarray(rids, dtype=np.int64)
        self.n = len(self.rids)
        self.schema = dict(schema)
        self.postings: dict[str, dict[Any, np.ndarray]] = {}
        self.sorted: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        lists: dict[str, dict[Any, list[int]]] = {}
        ordered: dict[str, tuple[list[Any], list[int]]] = {}
        for pos, attrs in enumerate(attributes):
            for name, value in attrs.items():
                typ = self.schema.get(name)
                if typ in ("str", "list[str]"):
                    for v in value if isinstance(value, list) else [value]:
                        lists.setdefault(name, {}).setdefault(v, []).append(pos)
                elif typ is not None:
                    vals, poss = ordered.setdefault(name, ([], []))
                    vals.append(value)
                    poss.append(pos)
        for name, table in lists.items():
            self.postings[name] = {v: np.unique(np.array(p, dtype=np.int64)) for v, p in table.items()}
        for name, (vals, poss) in ordered.items():
            arr = np.array(vals)
            order = np.argsort(arr, kind="stable")
            self.sorted[name] = (arr[order], np.array(poss, dtype=np.int64)[order])

    # -- exact ---------------------------------------------------------------------------------
    def mask(self, tree: Any) -> np.ndarray:
        """The boolean mask over the indexed row ids (in their order) of the documents a parsed filter ``tree``
        matches."""
        if isinstance(tree, Node):
            masks = [self.mask(c) for c in tree.children]
            if tree.op == "not":
                return ~masks[0]
            out = masks[0].copy()
            for m in masks[1:]:
                out = out & m if tree.op == "and" else out | m
            return out
        out = np.zeros(self.n, dtype=bool)
        out[self._positions(tree)] = True
        return out

    def allowed(self, tree: Any) -> np.ndarray:
        """Sorted row ids of the documents that match ``tree``."""
        return self.rids[self.mask(tree)]

    def _positions(self, leaf: Leaf) -> np.ndarray:
        if leaf.field in self.postings:
            table = self.postings[leaf.field]
            found = [table[v] for v in leaf.values if v in table]
            return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
        if leaf.field not in self.sorted:
            return np.zeros(0, dtype=np.int64)
        vals, poss = self.sorted[leaf.field]
        if leaf.op in ("eq", "in"):
            parts = [poss[np.searchsorted(vals, v, "left") : np.searchsorted(vals, v, "right")] for v in leaf.values]
            return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        lo, hi = self._range(vals, leaf)
        return poss[lo:hi]

    @staticmethod
    def _range(vals: np.ndarray, leaf: Leaf) -> tuple[int, int]:
        lo = 0 if leaf.low is None else int(np.searchsorted(vals, leaf.low, "left" if leaf.low_inclusive else "right"))
        hi = (
            len(vals)
            if leaf.high is None
            else int(np.searchsorted(vals, leaf.high, "right" if leaf.high_inclusive else "left"))
        )
        return lo, max(lo, hi)

    def summary(self, top: int = 50) -> dict[str, dict[str, Any]]:
        """Per attribute: its type, and its most frequent values (str) or its range (ordered types)."""
        out: dict[str, dict[str, Any]] = {}
        for name, typ in self.schema.items():
            entry: dict[str, Any] = {"type": typ}
            if name in self.postings:
                counts = sorted(((len(p), v) for v, p in self.postings[name].items()), key=lambda t: (-t[0], t[1]))
                entry["values"] = [{"value": v, "count": c} for c, v in counts[:top]]
                entry["distinct"] = len(counts)
            elif name in self.sorted and len(self.sorted[name][0]):
                vals = self.sorted[name][0]
                lo, hi = vals[0], vals[-1]
                entry["min"], entry["max"] = (
                    lo.item() if hasattr(lo, "item") else lo,
                    hi.item() if hasattr(hi, "item") else hi,
                )
            out[name] = entry
        return out

    # -- estimate ------------------------------------------------------------------------------
    def estimate(self, tree: Any) -> float:
        """Estimated fraction of documents matching ``tree`` (0..1), without building a mask."""
        if self.n == 0:
            return 0.0
        if isinstance(tree, Node):
            parts = [self.estimate(c) for c in tree.children]
            if tree.op == "not":
                return 1.0 - parts[0]
            if tree.op == "and":
                return float(np.prod(parts))
            return 1.0 - float(np.prod([1.0 - p for p in parts]))
        if tree.field in self.postings:
            table = self.postings[tree.field]
            return min(1.0, sum(len(table.get(v, ())) for v in tree.values) / self.n)
        if tree.field not in self.sorted:
            return 0.0
        vals, _ = self.sorted[tree.field]
        if tree.op in ("eq", "in"):
            hits = sum(int(np.searchsorted(vals, v, "right") - np.searchsorted(vals, v, "left")) for v in tree.values)
            return min(1.0, hits / self.n)
        lo, hi = self._range(vals, tree)
        return (hi - lo) / self.n

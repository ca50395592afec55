"""The routing evaluation's result: RouterRetriever's Table 1 (arXiv 2409.02685) as typed rows.

One :class:`RoutingRow` per single expert, router and oracle, with its nDCG@10 per dataset and on average
(each dataset weighing the same), its cost per query, and its stratified paired p-values; a
:class:`RoutingReport` holds them with what the evaluation saw. ``to_dict`` gives the JSON the CLI and the
benchmarks write (the keys of ``benchmarks/results/routing*.json``); ``str`` gives the text table.
Hand-written (after ranx's ``Report``): a table of this layout is in no library.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

#: how the p-values were computed, recorded in every results file so that files made by an older test
#: (a pooled one, in which the largest dataset outweighs the others) can be told apart
P_TEST = "stratified paired randomization, equal weight per dataset"

RowKind = Literal["single", "router", "oracle"]


@dataclass(frozen=True)
class SeedSpread:
    """A randomised router refitted with seeds 0..``seeds``-1: the spread of its average nDCG@10."""

    seeds: int
    mean: float
    sd: float
    min: float
    max: float


@dataclass
class RoutingRow:
    """One row of the table: ``ndcg`` maps each dataset and ``"avg"`` to nDCG@10; routers also carry their
    train-CV figure, the rule they ran (``auto``), how often each expert was chosen and the routing share
    of their latency."""

    name: str
    kind: RowKind
    ndcg: dict[str, float]
    ms_per_query: float
    encoder_passes: float
    train_cv: float | None = None
    rule: str | None = None
    chosen: dict[str, Any] | None = None
    routing_ms_per_query: float | None = None
    routing_overhead: float | None = None
    seed_spread: SeedSpread | None = None
    p_value_vs_best_single: float | None = None
    #: set for routers (other than ``dataset``) when the table has a ``dataset`` row
    p_value_vs_dataset: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, with the keys the results files use."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "ndcg@10": dict(self.ndcg),
            "ms_per_query": self.ms_per_query,
            "encoder_passes": self.encoder_passes,
        }
        if self.kind == "router":
            out["train_cv_ndcg@10"] = self.train_cv
            if self.rule is not None:
                out["rule"] = self.rule
        if self.chosen is not None:
            out["chosen"] = dict(self.chosen)
        if self.kind == "router":
            out["routing_ms_per_query"] = self.routing_ms_per_query
            out["routing_overhead"] = self.routing_overhead
        if self.seed_spread is not None:
            out["seed_spread"] = asdict(self.seed_spread)
        out["p_value_vs_best_single"] = self.p_value_vs_best_single
        if self.p_value_vs_dataset is not None:
            out["p_value_vs_dataset"] = self.p_value_vs_dataset
        return out


@dataclass
class RoutingReport:
    """The whole evaluation: the datasets scored (columns), the experts, the training datasets, the
    routing model, its per-query encoding cost, the best single expert and the rows."""

    datasets: list[str]
    experts: list[str]
    train_from: list[str]
    routing_expert: str
    route_encode_ms: float
    best_single: str
    training_queries: int
    rows: list[RoutingRow] = field(default_factory=list)
    #: whether each dataset's routers were fitted on its own pseudo-queries (plus any labelled ones)
    self_supervised: bool = False
    #: per dataset, how its pseudo-queries were made and how many each generator gave
    pseudo: dict[str, Any] | None = None
    #: each dataset's routers learnt from the other datasets' labelled queries only
    leave_one_out: bool = False
    #: how pseudo-query labels were corrected (``shipped``, ``loo``, ``none``), for self-supervised fits
    pseudo_correction: str | None = None

    def row(self, name: str) -> RoutingRow:
        """The row called ``name`` (a KeyError naming the rows there are, if none is)."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no row {name!r}; rows: {', '.join(r.name for r in self.rows)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, as ``benchmarks/results/routing*.json`` and ``embedroute eval --router --out`` hold it."""
        return {
            "datasets": list(self.datasets),
            "experts": list(self.experts),
            "train_from": list(self.train_from),
            "routing_expert": self.routing_expert,
            "route_encode_ms": self.route_encode_ms,
            "best_single": self.best_single,
            "training_queries": self.training_queries,
            "p_test": P_TEST,
            **({"self_supervised": True, "pseudo": self.pseudo} if self.self_supervised else {}),
            **({"pseudo_correction": self.pseudo_correction} if self.pseudo_correction else {}),
            **({"leave_one_out": True} if self.leave_one_out else {}),
            "rows": [r.to_dict() for r in self.rows],
        }

    def __str__(self) -> str:
        return format_table(self)


def _row_line(r: RoutingRow, names: list[str], w: int, vs_dataset: bool) -> str:
    p, cv, pd = r.p_value_vs_best_single, r.train_cv, r.p_value_vs_dataset
    pd_text = f"{pd:>14.4f}" if pd is not None else f"{'(dataset)' if r.name == 'dataset' else '–':>14}"
    return (
        f"{r.name:<{w}}{r.kind:<8}"
        + "".join(f"{r.ndcg[n]:>13.4f}" for n in names)
        + f"{r.ndcg['avg']:>8.4f}"
        + (f"{p:>11.4f}" if p is not None else f"{'(best)':>11}")
        + (pd_text if vs_dataset else "")
        + f"{r.encoder_passes:>8.2f}{r.ms_per_query:>8.1f}"
        + (f"{cv:>10.4f}" if cv is not None else f"{'–':>10}")
    )


def format_table(report: RoutingReport) -> str:
    """The Table-1 layout as text; ``train CV`` is a router's cross-validated nDCG@10 on training queries;
    ``p vs best`` and, when the table has a ``dataset`` row, ``p vs dataset`` are the stratified paired
    p-values of each row's average against the best single expert's and each router's against the dataset
    router's."""
    names = report.datasets
    vs_dataset = any(r.p_value_vs_dataset is not None for r in report.rows)
    w = max([18] + [len(r.name) + 2 for r in report.rows])
    head = (
        f"{'row':<{w}}{'kind':<8}"
        + "".join(f"{n[:12]:>13}" for n in names)
        + f"{'avg':>8}{'p vs best':>11}"
        + (f"{'p vs dataset':>14}" if vs_dataset else "")
        + f"{'passes':>8}{'ms/q':>8}{'train CV':>10}"
    )
    lines = [head, "-" * len(head)]
    lines += [_row_line(r, names, w, vs_dataset) for r in report.rows]
    for r in report.rows:
        if r.seed_spread is not None:
            s = r.seed_spread
            lines.append(
                f"{r.name} over seeds 0-{s.seeds - 1}: avg {s.mean:.4f} ± {s.sd:.4f} (min {s.min:.4f}, max {s.max:.4f})"
            )
    return "\n".join(lines)

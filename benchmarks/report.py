"""Write BENCHMARKS.md from ``benchmarks/BENCHMARKS.template.md`` and ``benchmarks/results/*.json``.

Every figure in BENCHMARKS.md comes from a results file: the template holds the prose, and each figure in
it is a placeholder that this script fills, each table a directive that it writes.

    python benchmarks/report.py            # write BENCHMARKS.md
    python benchmarks/report.py --check    # exit 1 if BENCHMARKS.md differs from what it would write

Placeholders: ``{{EXPR}}`` or ``{{EXPR:FORMAT}}``. EXPR is a Python expression over the helpers below and
``J`` (every results file by its name without ``.json``; ``J["published"]`` is ``benchmarks/published.json``,
the figures other people published that we compare with). FORMAT is a format spec (``.4f``, ``.1%``, ``,.0f``)
or ``p`` (a p-value: two decimals from 0.01, else four); floats default to ``.4f``, integers to ``,``.
A line ``<!-- source NAME -->`` names the routing results file that the routing helpers read until the next
such line (each helper also takes ``f=NAME``). A line ``<!-- table KIND key=value ... -->`` is replaced by
the table KIND (see ``TABLES``). Other ``<!-- ... -->`` lines are kept.

Routing helpers (NAME is a row of the routing file, e.g. ``"pilot"``, ``"pilot@min_share=0.15"``):
``avg(NAME)``, ``sf/nf/cf(NAME)`` (SciFact, NFCorpus, Climate-FEVER nDCG@10), ``p(NAME)`` (p against the best
single expert), ``pd(NAME)`` (against the dataset router), ``cv`` (train CV), ``ms``, ``passes``, ``ovh``
(routing overhead), ``rms`` (routing ms), ``rule`` (auto's pick), ``chosen(NAME, EXPERT)``,
``seeds(NAME, "mean"|"sd"|"min"|"max")``, ``best()`` / ``bestavg()`` (the best single expert),
``oracle()`` (the dataset oracle's avg), ``gap(NAME)`` (share of the best single -> dataset oracle gap),
``enc_ms()`` (routing encoder ms a query), ``ovhr()`` (the one-expert routers' overhead range, text),
``cross(DATASET, KEY)``, ``routers()`` (the router rows). ``<!-- let NAME = EXPR -->`` names a value
for the placeholders below it.
Others: ``mv(dataset, method, **params)`` (a MUVERA row), ``bucket(NAME, selectivity, correlated)``,
``comp(dataset, compression, rescore)``, ``geo(NAME, encoder)``, ``qe(dataset, expert)``, ``load(mode)``,
``planner_vs_best(bucket)``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import shlex
import statistics
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from embedroute.evaluation.routing_report import P_TEST

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PUBLISHED = ROOT / "benchmarks" / "published.json"
TEMPLATE = ROOT / "benchmarks" / "BENCHMARKS.template.md"
OUTPUT = ROOT / "BENCHMARKS.md"

DATASETS = {"scifact": "SciFact", "nfcorpus": "NFCorpus", "climate-fever-sentences": "Climate-FEVER"}
SHORT = {"sf": "scifact", "nf": "nfcorpus", "cf": "climate-fever-sentences"}
HEADER = (
    "<!-- Written by `python benchmarks/report.py` from benchmarks/BENCHMARKS.template.md and "
    "benchmarks/results/*.json: edit those, not this file. -->\n\n"
)


class ReportError(Exception):
    """A placeholder or directive the results files cannot fill."""


def check_p_test(result: dict[str, Any], name: str) -> None:
    """Refuse to quote p-values from a routing file that does not record the tables' test (``P_TEST``): one
    made by the older pooled test, whose p-values do not test the average the table shows."""
    if result.get("p_test") != P_TEST:
        raise ReportError(
            f"{name}.json records p_test={result.get('p_test')!r}, not {P_TEST!r}: re-run its benchmark "
            "before quoting its p-values"
        )


def load_results(results: Path = RESULTS, published: Path = PUBLISHED) -> dict[str, Any]:
    data = {p.stem: json.loads(p.read_text()) for p in sorted(results.glob("*.json"))}
    if published.exists():
        data["published"] = json.loads(published.read_text())
    return data


def numeric_leaves(obj: Any) -> Iterable[float]:
    """Every number in a JSON value (booleans are not numbers here)."""
    if isinstance(obj, bool):
        return
    if isinstance(obj, (int, float)):
        yield float(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from numeric_leaves(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from numeric_leaves(v)


def fmt_p(v: float | None) -> str:
    if v is None:
        return "(best)"
    return f"{v:.2f}" if v >= 0.01 else f"{v:.4f}"


def fmt(value: Any, spec: str | None) -> str:
    if isinstance(value, str):
        return value
    if spec == "p":
        return fmt_p(value)
    if spec is None:
        spec = "," if isinstance(value, int) and not isinstance(value, bool) else ".4f"
    return format(value, spec)


_SPEC = re.compile(r"^(p|[<>^=]?[+\- ]?,?\d*(\.\d+)?[dfe%g]?)$")


def split_spec(body: str) -> tuple[str, str | None]:
    head, sep, tail = body.rpartition(":")
    if sep and tail.strip() and _SPEC.match(tail.strip()) and head.strip():
        return head.strip(), tail.strip()
    return body.strip(), None


def _dash(v: Any, spec: str) -> str:
    return "–" if v is None else fmt(v, spec)


def _table(head: list[str], align: list[str], rows: list[list[str]]) -> str:
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(sep) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _bold(s: str, on: bool) -> str:
    return f"**{s}**" if on and s not in ("–", "") else s


class Report:
    """Renders the template; ``values`` collects every number it wrote (the figures derived from JSON)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.J = data
        self.source: str | None = None
        self.values: list[float] = []

    # ---- lookups -------------------------------------------------------------------------------------------
    def file(self, f: str | None) -> dict[str, Any]:
        name = f or self.source
        if name is None:
            raise ReportError("no <!-- source NAME --> line above and no f=NAME given")
        if name not in self.J:
            raise ReportError(f"no results file {name}.json")
        return self.J[name]

    def row(self, name: str, f: str | None = None) -> dict[str, Any]:
        rows = [r for r in self.file(f)["rows"] if r["name"] == name]
        if not rows:
            raise ReportError(f"{f or self.source}.json has no row {name!r}")
        return rows[0]

    def namespace(self) -> dict[str, Any]:
        def nd(name: str, ds: str, f: str | None = None) -> float:
            return self.row(name, f)["ndcg@10"][SHORT.get(ds, ds)]

        def key(k: str) -> Callable[..., Any]:
            return lambda name, f=None: self.row(name, f).get(k)

        def pkey(k: str) -> Callable[..., Any]:
            def get(name: str, f: str | None = None) -> Any:
                check_p_test(self.file(f), f or self.source or "")
                return self.row(name, f).get(k)

            return get

        def best(f: str | None = None) -> str:
            return self.file(f)["best_single"]

        def bestavg(f: str | None = None) -> float:
            return self.row(best(f), f)["ndcg@10"]["avg"]

        def oracle(f: str | None = None) -> float:
            return self.row("dataset-oracle", f)["ndcg@10"]["avg"]

        def gap(name: str, f: str | None = None) -> float:
            return (nd(name, "avg", f) - bestavg(f)) / (oracle(f) - bestavg(f))

        def seeds(name: str, k: str = "mean", f: str | None = None) -> float:
            return self.row(name, f)["seed_spread"][k]

        def ovhr(f: str | None = None) -> str:
            return overhead_range(self.file(f))

        def mv(dataset: str, method: str, **params: Any) -> dict[str, Any]:
            hits = [
                r
                for r in self.J["muvera"]["results"]
                if r["dataset"] == dataset
                and r["method"] == method
                and all(r["params"].get(k) == v for k, v in params.items())
            ]
            if len(hits) != 1:
                raise ReportError(f"muvera.json: {len(hits)} rows match {dataset} {method} {params}")
            return hits[0]

        def bucket(f: str, selectivity: float, correlated: bool) -> dict[str, Any]:
            for b in self.J[f]["buckets"]:
                if abs(b["selectivity"] - selectivity) < 1e-12 and b["correlated"] == correlated:
                    return b
            raise ReportError(f"{f}.json has no bucket {selectivity} correlated={correlated}")

        def comp(dataset: str, compression: str, rescore: int = 0) -> dict[str, Any]:
            for r in self.J["compression"]["results"]:
                if (r["dataset"], r["compression"], r["rescore"]) == (dataset, compression, rescore):
                    return r
            raise ReportError(f"compression.json has no {dataset} {compression} x{rescore}")

        def geo(f: str, encoder: str) -> dict[str, Any]:
            for g in self.J[f]["geometry"]:
                if g["encoder"] == encoder:
                    return g
            raise ReportError(f"{f}.json has no geometry for {encoder}")

        def qe(dataset: str, expert: str) -> float:
            return self.J["query_experts"]["ndcg@10"][SHORT.get(dataset, dataset)][expert]

        def load(mode: str) -> dict[str, Any]:
            for r in self.J["load"]["rows"]:
                if r["mode"] == mode:
                    return r
            raise ReportError(f"load.json has no mode {mode}")

        ns: dict[str, Any] = {
            "J": self.J,
            "R": self.row,
            "best": best,
            "bestavg": bestavg,
            "oracle": oracle,
            "gap": gap,
            "seeds": seeds,
            "nd": nd,
            "avg": lambda name, f=None: nd(name, "avg", f),
            "sf": lambda name, f=None: nd(name, "sf", f),
            "nf": lambda name, f=None: nd(name, "nf", f),
            "cf": lambda name, f=None: nd(name, "cf", f),
            "p": pkey("p_value_vs_best_single"),
            "pd": pkey("p_value_vs_dataset"),
            "cv": key("train_cv_ndcg@10"),
            "ms": key("ms_per_query"),
            "passes": key("encoder_passes"),
            "ovh": key("routing_overhead"),
            "rms": key("routing_ms_per_query"),
            "rule": key("rule"),
            "chosen": lambda name, expert, f=None: self.row(name, f)["chosen"][expert],
            "enc_ms": lambda f=None: self.file(f)["route_encode_ms"],
            "cross": lambda ds, k, f=None: self.file(f)["cross_domain"][SHORT.get(ds, ds)][k],
            "routers": lambda f=None: [r for r in self.file(f)["rows"] if r["kind"] == "router"],
            "planner_vs_best": planner_vs_best,
            "ovhr": ovhr,
            "mv": mv,
            "bucket": bucket,
            "comp": comp,
            "geo": geo,
            "qe": qe,
            "load": load,
        }
        return ns

    # ---- rendering -----------------------------------------------------------------------------------------
    def render(self, template: str, name: str = TEMPLATE.name) -> str:
        out: list[str] = []
        ns = self.namespace()
        for lineno, line in enumerate(template.splitlines(), 1):
            try:
                m = re.fullmatch(r"<!--\s*source\s+(\S+)\s*-->", line.strip())
                if m:
                    self.file(m.group(1))
                    self.source = m.group(1)
                    continue
                m = re.fullmatch(r"<!--\s*let\s+([A-Za-z_]\w*)\s*=(.*?)-->", line.strip())
                if m:
                    ns[m.group(1)] = eval(m.group(2), {"__builtins__": SAFE_BUILTINS, **ns})
                    continue
                m = re.fullmatch(r"<!--\s*table\s+(\S+)(.*?)-->", line.strip())
                if m:
                    out.append(self.table(m.group(1), m.group(2)))
                    continue
                out.append(re.sub(r"\{\{(.+?)\}\}", lambda mm: self.fill(mm.group(1), ns), line))
            except ReportError as e:
                raise ReportError(f"{name}:{lineno}: {e}") from None
            except Exception as e:  # a typo in an expression: say where
                raise ReportError(f"{name}:{lineno}: {type(e).__name__}: {e}") from None
        return HEADER + "\n".join(out).rstrip("\n") + "\n"

    def fill(self, body: str, ns: dict[str, Any]) -> str:
        expr, spec = split_spec(body)
        # the template is this repository's own file; names go in globals so comprehensions see them
        value = eval(expr, {"__builtins__": SAFE_BUILTINS, **ns})
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.values.append(float(value))
        elif not isinstance(value, str):
            raise ReportError(f"{{{{{body}}}}} is a {type(value).__name__}, not a figure")
        return fmt(value, spec)

    def note(self, *vals: Any) -> None:
        self.values.extend(float(v) for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool))

    def table(self, kind: str, argstr: str) -> str:
        if kind not in TABLES:
            raise ReportError(f"no table kind {kind!r} (kinds: {', '.join(sorted(TABLES))})")
        args = dict(a.split("=", 1) for a in shlex.split(argstr))
        return TABLES[kind](self, **args)


SAFE_BUILTINS = {
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "len": len,
    "sum": sum,
    "next": next,
    "sorted": sorted,
    "any": any,
    "all": all,
    "float": float,
    "int": int,
    "str": str,
}


# ---- tables --------------------------------------------------------------------------------------------------


def t_beir(rep: Report, labels: str = "") -> str:
    lab = dict(x.split("=", 1) for x in labels.split(";") if x)
    pub = rep.J.get("published", {}).get("beir_ndcg@10", {})
    rows = []
    for r in rep.J["beir"]["rows"]:
        ds = r["dataset"]
        for i, (expert, m) in enumerate(r["metrics"].items()):
            prec = r["config"][expert].get("precision")
            name = f"{expert} ({prec} default)" if prec else expert
            refs = ", ".join(
                f"{fmt(x['ndcg@10'], '.' + str(x.get('digits', 4)) + 'f')} ({x['source']})"
                for x in pub.get(ds, {}).get(expert, [])
            )
            rep.note(*m.values())
            rows.append(
                [
                    lab.get(ds, DATASETS.get(ds, ds)) if i == 0 else DATASETS.get(ds, ds),
                    name,
                    f"**{m['ndcg@10']:.4f}**",
                    f"{m['recall@100']:.4f}",
                    f"{m['mrr@10']:.4f}",
                    f"{m['map@100']:.4f}",
                    refs or "–",
                ]
            )
    return _table(
        ["dataset", "expert", "nDCG@10", "Recall@100", "MRR@10", "MAP@100", "published nDCG@10"],
        ["l", "l", "r", "r", "r", "r", "l"],
        rows,
    )


def t_cache(rep: Report) -> str:
    rows = []
    for r in rep.J["beir"]["rows"]:
        experts = " + ".join(r["metrics"])
        rep.note(r["first_run_s"], r["second_run_s"], r["second_over_first"])
        rows.append(
            [
                f"{DATASETS.get(r['dataset'], r['dataset'])}, {experts}",
                f"{r['first_run_s']:.1f}",
                f"{r['texts_encoded'][0]:,}",
                f"{r['second_run_s']:.1f}",
                f"{r['texts_encoded'][1]:,}",
                f"{r['second_over_first']:.1%}",
            ]
        )
    return _table(
        ["dataset", "first run (s)", "texts encoded", "second run (s)", "texts encoded", "second / first"],
        ["l", "r", "r", "r", "r", "r"],
        rows,
    )


def t_encode(rep: Report) -> str:
    rows = []
    enc = rep.J["encode"]
    for r in enc["rows"]:
        rep.note(r["passages_per_s"], r["speedup"], r["cosine_min"], r.get("vs_best_sentence_transformers"))
        b = "default" in r["path"] or r["path"] == enc.get("best_sentence_transformers")
        rounds = r.get("passages_per_s_rounds") or [r["passages_per_s"]]
        spread = f"{min(rounds):.1f}-{max(rounds):.1f}"
        for x in rounds:
            rep.note(x)
        vs_best = r.get("vs_best_sentence_transformers")
        rows.append(
            [
                _bold(r["path"], b),
                _bold(f"{r['passages_per_s']:.1f}", b),
                spread,
                _bold(f"{r['speedup']:.2f}x", b),
                "–" if vs_best is None else f"{vs_best:.2f}x",
                f"{r['cosine_mean']:.5f}",
                f"{r['cosine_min']:.5f}",
            ]
        )
        rep.note(r["cosine_mean"])
    table = _table(
        [
            "path",
            "passages/s (median)",
            "spread over rounds",
            "vs sentence-transformers fp32",
            "vs best sentence-transformers",
            "mean cosine",
            "min cosine",
        ],
        ["l", "r", "r", "r", "r", "r", "r"],
        rows,
    )
    missing = enc.get("unavailable") or {}
    if missing:
        table += (
            "\n\nNot measurable here: "
            + "; ".join(
                f"{k} ({v.split(':')[0]}: needs `optimum`, which conflicts with the pinned transformers)"
                for k, v in missing.items()
            )
            + "."
        )
    return table


ROUTING_COLS = {
    "p": ("p vs best single", lambda r: fmt_p(r.get("p_value_vs_best_single"))),
    "p4": (
        "p vs best single",
        lambda r: "(best)" if r.get("p_value_vs_best_single") is None else f"{r['p_value_vs_best_single']:.4f}",
    ),
    "pd": ("p vs dataset", lambda r: "–" if r.get("p_value_vs_dataset") is None else fmt_p(r["p_value_vs_dataset"])),
    "passes": ("passes", lambda r: f"{r['encoder_passes']:.2f}"),
    "ms": ("ms/query", lambda r: f"{r['ms_per_query']:.1f}"),
    "ovh": ("routing overhead", lambda r: _dash(r.get("routing_overhead"), ".1%")),
    "cv": ("train CV", lambda r: _dash(r.get("train_cv_ndcg@10"), ".4f")),
}


def routing_label(r: dict[str, Any], result: dict[str, Any]) -> str:
    name = r["name"]
    if name == "pilot":
        return "pilot (paper)"
    if name == "pilot-nearest":
        return "pilot-nearest (code)"
    if name == "auto" and r.get("rule"):
        return f"auto (picked {r['rule']})"
    if name == "fusion":
        return f"fusion (all {len(result['experts'])}, RRF)"
    if name == "fusion-topk":
        return "fusion-topk (pilot top 2, RRF)"
    return name


def t_routing(rep: Report, f: str, cols: str = "p,passes,ms,cv") -> str:
    result = rep.J[f]
    names = result["datasets"]
    keys = cols.split(",")
    if any(k in ("p", "p4", "pd") for k in keys):
        check_p_test(result, f)
    routers = [r for r in result["rows"] if r["kind"] == "router"]
    top = max((r["ndcg@10"]["avg"] for r in routers), default=None)
    rows = []
    for r in result["rows"]:
        rep.note(
            *r["ndcg@10"].values(),
            r.get("p_value_vs_best_single"),
            r.get("p_value_vs_dataset"),
            r["encoder_passes"],
            r["ms_per_query"],
            r.get("routing_overhead"),
            r.get("train_cv_ndcg@10"),
        )
        a = r["ndcg@10"]["avg"]
        bold = r["name"] == result["best_single"] or (r["kind"] == "router" and a == top)
        rows.append(
            [routing_label(r, result), r["kind"]]
            + [f"{r['ndcg@10'][n]:.4f}" for n in names]
            + [_bold(f"{a:.4f}", bold)]
            + [ROUTING_COLS[k][1](r) for k in keys]
        )
    head = ["row", "kind"] + [DATASETS.get(n, n) for n in names] + ["avg"] + [ROUTING_COLS[k][0] for k in keys]
    return _table(head, ["l", "l"] + ["r"] * (len(head) - 2), rows)


def _experts_label(result: dict[str, Any]) -> str:
    ex = result["experts"]
    adapters = [e for e in ex if e.startswith("minilm-q-")]
    if len(ex) == 8:
        return "all eight"
    if adapters and len(ex) == len(adapters) + 1 and "minilm" in ex:
        return f"minilm + {len(adapters)} query-side LoRA adapters (the paper's setting)"
    return ", ".join(ex)


def overhead_range(result: dict[str, Any]) -> str:
    """The one-expert routers' routing overhead as "a-b%" (one decimal under 10%)."""
    one = [r for r in result["rows"] if r["kind"] == "router" and not r["name"].startswith("fusion")]
    vals = sorted({round(100 * r["routing_overhead"], 1 if r["routing_overhead"] < 0.1 else 0) for r in one})
    return f"{vals[0]:g}%" if len(vals) == 1 else f"{vals[0]:g}-{vals[-1]:g}%"


def t_glance(rep: Report, files: str) -> str:
    rows, last = [], None
    for f in files.split(","):
        res = rep.J[f]
        by = {r["name"]: r for r in res["rows"]}
        label = _experts_label(res)
        best = res["best_single"]
        ds = by["dataset"]
        one = [r for r in res["rows"] if r["kind"] == "router" and not r["name"].startswith("fusion")]
        cells = {
            "pilot": by["pilot"]["ndcg@10"]["avg"],
            "dataset": ds["seed_spread"]["mean"],
            "auto": by["auto"]["ndcg@10"]["avg"] if "auto" in by else None,
            "fusion": by["fusion"]["ndcg@10"]["avg"] if "fusion" in by else None,
        }
        top = max(v for v in cells.values() if v is not None)
        rule = by["auto"].get("rule", "") if "auto" in by else ""
        rep.note(
            *[v for v in cells.values() if v is not None],
            ds["seed_spread"]["sd"],
            by[best]["ndcg@10"]["avg"],
            by["dataset-oracle"]["ndcg@10"]["avg"],
            *[r["routing_overhead"] for r in one],
        )
        rows.append(
            [
                "the same" if label == last else label,
                res["routing_expert"],
                f"{by[best]['ndcg@10']['avg']:.4f} ({best})",
                f"{by['dataset-oracle']['ndcg@10']['avg']:.4f}",
                _bold(f"{cells['pilot']:.4f}", cells["pilot"] == top),
                _bold(f"{ds['seed_spread']['mean']:.4f} ± {ds['seed_spread']['sd']:.4f}", cells["dataset"] == top),
                "–"
                if cells["auto"] is None
                else _bold(f"{cells['auto']:.4f}", cells["auto"] == top) + f" ({rule.removeprefix('pilot@')})",
                "–" if cells["fusion"] is None else _bold(f"{cells['fusion']:.4f}", cells["fusion"] == top),
                overhead_range(res),
            ]
        )
        last = label
    return _table(
        [
            "experts",
            "routing encoder",
            "best single",
            "dataset oracle",
            "pilot (paper)",
            "dataset router (seeds 0-9)",
            "auto (its pick)",
            "fusion, all",
            "overhead",
        ],
        ["l", "l"] + ["r"] * 7,
        rows,
    )


def t_auto(rep: Report, files: str) -> str:
    rows = []
    for f in files.split(","):
        res = rep.J[f]
        by = {r["name"]: r for r in res["rows"]}
        a, ds = by["auto"], by["dataset"]
        s = ds["seed_spread"]
        n = len(res["experts"])
        label = f"{n} (paper)" if n == 4 else str(n)
        rep.note(a["ndcg@10"]["avg"], ds["ndcg@10"]["avg"], s["mean"], s["sd"], a["routing_overhead"])
        rows.append(
            [
                f"{label}, {res['routing_expert']}",
                a["rule"],
                _bold(f"{a['ndcg@10']['avg']:.4f}", a["ndcg@10"]["avg"] > s["mean"] + s["sd"]),
                f"{ds['ndcg@10']['avg']:.4f}; {s['mean']:.4f} ± {s['sd']:.4f}",
                f"{a['routing_overhead']:.1%}",
            ]
        )
    return _table(
        ["experts, routing encoder", "auto picks", "auto", "dataset router (seed 0; seeds 0-9)", "routing overhead"],
        ["l", "l", "r", "r", "r"],
        rows,
    )


def t_geometry(rep: Report, f: str) -> str:
    gs = rep.J[f]["geometry"]
    top = max(g["pilot_test_ndcg@10"] for g in gs)
    rows = []
    for g in gs:
        b = g["pilot_test_ndcg@10"] == top
        rep.note(
            g["cos_same_dataset"], g["cos_other_dataset"]["mean"], g["cos_other_dataset"]["sd"], g["pilot_test_ndcg@10"]
        )
        rows.append(
            [
                _bold(g["encoder"], b),
                str(g["pilots"]),
                f"{g['cos_same_dataset']:.3f}",
                f"{g['cos_other_dataset']['mean']:.3f} ± {g['cos_other_dataset']['sd']:.3f}",
                _bold(f"{g['pilot_test_ndcg@10']:.4f}", b),
            ]
        )
    return _table(
        [
            "routing encoder",
            "pilots",
            "cosine between pilots of one dataset",
            "cosine between pilots of different datasets",
            "paper `pilot`, test nDCG@10",
        ],
        ["l", "r", "r", "r", "r"],
        rows,
    )


def t_query_experts(rep: Report) -> str:
    q = rep.J["query_experts"]
    table = q["ndcg@10"]
    experts = list(next(iter(table.values())))
    rows = []
    for ds, vals in table.items():
        top = max(vals.values())
        rep.note(*vals.values())
        label = DATASETS.get(ds, ds) + (" (test half)" if ds == "climate-fever-sentences" else "")
        rows.append([label] + [_bold(f"{vals[e]:.4f}", vals[e] == top) for e in experts])
    return _table(["test set"] + experts, ["l"] + ["r"] * len(experts), rows)


def t_compression(rep: Report) -> str:
    rows = []
    for r in rep.J["compression"]["results"]:
        rep.note(r["ndcg@10"], r["ndcg_ratio"], r["memory_reduction"])
        index = "flat (float32)" if r["compression"] == "flat" else r["compression"]
        rows.append(
            [
                DATASETS.get(r["dataset"], r["dataset"]),
                index,
                f"x{r['rescore']}" if r["rescore"] else "–",
                f"{r['ndcg@10']:.4f}",
                f"{r['ndcg_ratio']:.1%}",
                f"{r['bytes_per_vector']:.0f}",
                f"{r['memory_reduction']:.0f}x",
            ]
        )
    return _table(
        ["dataset", "index", "rescore", "nDCG@10", "of float32", "bytes/vector", "less memory"],
        ["l", "l", "l", "r", "r", "r", "r"],
        rows,
    )


def t_tune(rep: Report, f: str = "tune-scifact") -> str:
    rows = []
    for r in rep.J[f]["rows"]:
        rep.note(r["ndcg@10"], r["ndcg_ratio"], r["qps"])
        rows.append(
            [
                r["compression"],
                str(r["rescore"]),
                f"{r['ndcg@10']:.4f}",
                f"{r['ndcg_ratio']:.1%}",
                f"{r['bytes_per_vector']:.0f}",
                f"{r['qps']:.0f}",
            ]
        )
    return _table(
        ["index", "rescore", "nDCG@10", "of float32", "bytes/vector", "QPS"], ["l", "r", "r", "r", "r", "r"], rows
    )


PLANS = {"post-filter": "post-filter", "index-filtered": "HNSW in-filter", "exact-allowed": "exact"}
BASELINES = ("faiss-hnsw-idselector", "exact-allowed", "post-filter")


def planner_vs_best(b: dict[str, Any], bar: float = 0.95) -> float:
    """The planner's QPS over the fastest baseline that reaches recall@10 ``bar``."""
    ok = [b["baselines"][k]["qps"] for k in BASELINES if b["baselines"][k]["recall@10"] >= bar]
    return b["planner"]["qps"] / max(ok)


def t_filtered(rep: Report, f: str) -> str:
    rows = []
    for b in rep.J[f]["buckets"]:
        pl = b["planner"]
        plans = "/".join(PLANS.get(k, k) for k in pl["plans"])
        cells = []
        for k in BASELINES:
            x = b["baselines"][k]
            cells.append(_bold(f"{x['recall@10']:.3f}", x["recall@10"] < 0.95) + f" / {x['qps']:,.0f}")
            rep.note(x["recall@10"], x["qps"])
        ratio = planner_vs_best(b)
        rep.note(pl["recall@10"], pl["qps"], ratio)
        rows.append(
            [
                f"{b['selectivity'] * 100:g}%",
                "correlated" if b["correlated"] else "uncorrelated",
                f"{pl['recall@10']:.3f} / {pl['qps']:,.0f} ({plans})",
            ]
            + cells
            + [f"{ratio:.2f}x"]
        )
    return _table(
        [
            "selectivity",
            "filters",
            "planner recall / QPS (plan)",
            "FAISS HNSW + IDSelector",
            "exact over allowed",
            "post-filter",
            "planner vs best baseline >= 0.95",
        ],
        ["l", "l", "l", "l", "l", "l", "r"],
        rows,
    )


PEERS = (
    ("embedroute", "embedroute `Collection.search`"),
    ("embedroute-calibrated", "after `calibrate()`"),
    ("embedroute-index", "embedroute index, vectors in"),
    ("lancedb", "LanceDB best"),
    ("faiss-hnsw", "FAISS HNSW + IDSelector"),
    ("hnswlib", "hnswlib filter"),
)


def t_peers(rep: Report, f: str = "peers") -> str:
    """recall@10 / QPS per selectivity and system (``benchmarks/peers.py``), recall under 0.95 in bold, and
    our public row's QPS over LanceDB's."""
    rows = []
    names = [(k, label) for k, label in PEERS if any(k in b["systems"] for b in rep.J[f]["filtered"])]
    for b in rep.J[f]["filtered"]:
        cells = []
        for k, _ in names:
            x = b["systems"].get(k)
            if x is None:
                cells.append("–")
                continue
            rep.note(x["recall@10"], x["qps"])
            cells.append(_bold(f"{x['recall@10']:.3f}", x["recall@10"] < 0.95) + f" / {x['qps']:,.0f}")
        ours, lance = b["systems"].get("embedroute"), b["systems"].get("lancedb")
        ratio = ours["qps"] / lance["qps"] if ours and lance else None
        if ratio is not None:
            rep.note(ratio)
        rows.append([f"{b['selectivity'] * 100:g}%"] + cells + ["–" if ratio is None else f"{ratio:.1f}x"])
    return _table(
        ["selectivity"] + [label for _, label in names] + ["ours / LanceDB"],
        ["l"] + ["l"] * len(names) + ["r"],
        rows,
    )


def t_planner_defaults(rep: Report, f: str = "planner-defaults") -> str:
    """Per index size and selectivity (``benchmarks/planner_defaults.py``): each plan's time per query
    (median over rounds), the traversal's recall@10, and the plan the shipped defaults choose."""
    from embedroute.index.planner import Thresholds

    t = Thresholds(
        exact_max_allowed=rep.J[f]["chosen"]["exact_max_allowed"],
        post_filter_min_selectivity=rep.J[f]["chosen"]["post_filter_min_selectivity"],
    )
    rows = []
    for size in rep.J[f]["sizes"]:
        for p in size["plans"]:
            exact, traversal = statistics.median(p["exact_ms"]), statistics.median(p["traversal_ms"])
            rep.note(p["allowed"], p["efSearch"], exact, traversal, p["traversal_recall@10"])
            chosen = "exact" if p["allowed"] <= t.exact_limit(p["efSearch"]) else "traversal"
            faster = "exact" if exact <= traversal else "traversal"
            rows.append(
                [
                    f"{size['n']:,}",
                    f"{p['selectivity'] * 100:g}%",
                    f"{p['allowed']:,}",
                    str(p["efSearch"]),
                    _bold(f"{exact:.2f}", faster == "exact"),
                    _bold(f"{traversal:.2f}", faster == "traversal"),
                    f"{p['traversal_recall@10']:.3f}",
                    chosen + ("" if chosen == faster else " (slower)"),
                ]
            )
    return _table(
        ["vectors", "selectivity", "allowed", "efSearch", "exact ms", "traversal ms", "traversal recall@10", "plan"],
        ["r", "l", "r", "r", "r", "r", "r", "l"],
        rows,
    )


def t_load(rep: Report) -> str:
    rows = []
    for r in rep.J["load"]["rows"]:
        lat = r["latency_ms"]
        rep.note(r["throughput_rps"], *lat.values())
        rows.append(
            [
                r["mode"],
                str(r["requests"]),
                f"{r['throughput_rps']:.1f}",
                f"{lat['p50']:.0f}",
                f"{lat['p95']:.0f}",
                f"{lat['p99']:.0f}",
                str(r["errors"]),
            ]
        )
    return _table(
        ["mode", "requests", "throughput (req/s)", "p50 (ms)", "p95 (ms)", "p99 (ms)", "errors"],
        ["l"] + ["r"] * 6,
        rows,
    )


def muvera_params(r: dict[str, Any]) -> str:
    p = r["params"]
    if "expert" in p:
        return p["expert"]
    if "factor" in p:
        return f"{p['factor']}x fewer ({p['vectors_per_doc']} vectors/doc)"
    s = f"R={p['r_reps']} k_sim={p['k_sim']} d_proj={p['d_proj']} ({p['fde_dim']}-d, {p['fde_index']})"
    return s + (f", {p['candidates']} cand." if "candidates" in p else "")


def t_muvera(rep: Report) -> str:
    rows = []
    for r in rep.J["muvera"]["results"]:
        rep.note(r["ndcg@10"], r["recall@10_vs_exact"], r["ms_per_query"], r["speedup_vs_exact"])
        rows.append(
            [
                r["dataset"],
                r["method"],
                muvera_params(r),
                f"{r['ndcg@10']:.4f}",
                f"{r['recall@10_vs_exact']:.3f}",
                f"{r['ms_per_query']:.2f}",
                f"{r['speedup_vs_exact']:.1f}x",
                f"{r['bytes_per_doc']:,.0f}",
            ]
        )
    return _table(
        ["dataset", "method", "params", "nDCG@10", "recall@10 vs exact", "ms/query", "speedup", "bytes/doc"],
        ["l", "l", "l", "r", "r", "r", "r", "r"],
        rows,
    )


def t_memory(rep: Report, later: str = "") -> str:
    """Resident memory per index kind (``memory.json``); a kind measured again in a later run of the same
    script (``later``: that results file, same ``n``) shows the later row, marked."""
    m = rep.J["memory"]
    again = {r["kind"]: r for r in rep.J[later]["rows"]} if later else {}
    if later and rep.J[later]["n"] != m["n"]:
        raise ReportError(f"{later}.json measured {rep.J[later]['n']} vectors, memory.json {m['n']}")
    rows = []
    for r in m["rows"]:
        r = again.get(r["kind"], r)
        rep.note(r["built_mb"], r["reopened_mb"], r["after_write_mb"], r["bytes_per_vector_declared"])
        declared = r["bytes_per_vector_declared"] * m["n"] / 2**20
        rep.note(declared)
        rows.append(
            [
                f"`{r['kind']}`" + (f" ({later}.json)" if r["kind"] in again else ""),
                f"{r['built_mb']:,.0f}",
                _dash(r["reopened_mb"], ",.0f"),
                _dash(r["after_write_mb"], ",.0f"),
                f"{r['bytes_per_vector_declared']:,.0f}",
                f"{declared:,.0f}",
            ]
        )
    return _table(
        ["index", "built (MB)", "reopened (MB)", "after one write (MB)", "declared bytes/vector", "declared (MB)"],
        ["l"] + ["r"] * 5,
        rows,
    )


def t_pseudo(rep: Report, f: str = "pseudo-queries") -> str:
    res = rep.J[f]
    experts = res["experts"]
    rows = []
    for ds, row in res["datasets"].items():
        sets = [("labelled queries", row["labelled"])] + list(row["generators"].items())
        for i, (name, s) in enumerate(sets):
            rep.note(*s["win_share"].values(), *s["mean_ndcg@10"].values(), s.get("l1_to_labelled"))
            rows.append(
                [DATASETS.get(ds, ds) if i == 0 else "", name if i == 0 else f"`{name}`", f"{s['queries']:,}"]
                + [f"{s['win_share'][e]:.0%}" for e in experts]
                + [_dash(s.get("l1_to_labelled"), ".2f")]
            )
    head = ["dataset", "queries", "n"] + [f"{e} wins" for e in experts] + ["L1 to labelled"]
    return _table(head, ["l", "l"] + ["r"] * (len(head) - 2), rows)


TABLES: dict[str, Callable[..., str]] = {
    "beir": t_beir,
    "cache": t_cache,
    "encode": t_encode,
    "routing": t_routing,
    "glance": t_glance,
    "auto": t_auto,
    "geometry": t_geometry,
    "query_experts": t_query_experts,
    "compression": t_compression,
    "tune": t_tune,
    "filtered": t_filtered,
    "peers": t_peers,
    "planner_defaults": t_planner_defaults,
    "load": t_load,
    "muvera": t_muvera,
    "memory": t_memory,
    "pseudo": t_pseudo,
}


def render(template: Path = TEMPLATE, data: dict[str, Any] | None = None) -> tuple[str, list[float]]:
    """BENCHMARKS.md's text and every number written into it."""
    rep = Report(load_results() if data is None else data)
    return rep.render(template.read_text(), template.name), rep.values


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 if BENCHMARKS.md is not what this writes")
    args = ap.parse_args(argv)
    try:
        text, _ = render()
    except ReportError as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 2
    if args.check:
        have = OUTPUT.read_text() if OUTPUT.exists() else ""
        if have != text:
            diff = difflib.unified_diff(have.splitlines(), text.splitlines(), "BENCHMARKS.md", "report.py", lineterm="")
            print("\n".join(list(diff)[:60]), file=sys.stderr)
            print("BENCHMARKS.md is out of date: run python benchmarks/report.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

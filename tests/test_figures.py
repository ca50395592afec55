"""Every figure quoted in README.md and BENCHMARKS.md comes from ``benchmarks/results/*.json``.

BENCHMARKS.md is written by ``benchmarks/report.py`` from a template whose figures are all placeholders, so
it must equal what report.py writes, and the template's own text may hold no figure. README.md is written
by hand, so each of its figures (every number with a decimal point or a ``%``) must be a value of a results
file, or of a figure report.py derives from them (a share of a gap, a difference), rounded as quoted.
Numbers that are not measurements (versions, paper ids, config defaults, targets) are listed in ``ALLOW``
with the reason; code spans and code blocks are not prose and are skipped.
"""

from __future__ import annotations

import bisect
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROSE = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]

#: (pattern, why it is not a measured figure); a match is removed before figures are looked for
ALLOW: list[tuple[str, str]] = [
    (r"arXiv \d{4}\.\d{4,5}", "a paper's arXiv id"),
    (r"cosine >= 0\.9999", "the bf16 check's threshold, a config default (encoders/transformer.py)"),
    (r"tau = 0\.112", "PilotRouter.TAU_REL, a config default"),
    (r"at least 15% of its dataset", "the min_share=0.15 router parameter in words"),
    (r"15% (aim|budget)|aim is under 15%", "the routing-overhead target of the routing issue"),
    (r"e\.g\. 0\.7", "an example value of the carve option"),
    (r"4\.4M-parameter", "the SPLADE model's size, from its model card"),
    (r"within 0\.005", "the nDCG@10 tolerance the bf16 default must meet (issue 2)"),
    (r"recall@10 >= 0\.95|reaches 0\.95|baseline >= 0\.95", "the recall bar of the benchmark's acceptance"),
]

NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
# a number not inside a version (2.13.0), a word (bm25, e5-small) or an identifier; "A-B%" carries % to A
FIGURE = re.compile(rf"(?<![\w.@=/])(?<!\w-)({NUMBER})(?:\s?[-–]\s?({NUMBER}))?(?:x(?!\w)|(?!\w|\.\d))(\s?%)?")


def load_report():
    spec = importlib.util.spec_from_file_location("report", ROOT / "benchmarks" / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = load_report()


def prose(text: str) -> str:
    """The text without code blocks, code spans, HTML comments and allow-listed non-figures."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", " ", text)
    for pattern, _ in ALLOW:
        text = re.sub(pattern, " ", text)
    return text


def figures(text: str) -> list[tuple[str, float, int, bool]]:
    """(as written, value, decimals, is a percentage) of each figure: a number with a decimal point or a %."""
    out = []
    for m in FIGURE.finditer(prose(text)):
        pct = m.group(3) is not None
        for s in filter(None, (m.group(1), m.group(2))):
            if "." in s or pct:
                dec = len(s.split(".")[1]) if "." in s else 0
                out.append((s + ("%" if pct else ""), float(s.replace(",", "")), dec, pct))
    return out


class Pool:
    """The numbers a figure may be rounded from: every numeric leaf of the results files and every
    number report.py computed from them for BENCHMARKS.md."""

    def __init__(self, values) -> None:
        vals = {abs(v) for v in values}
        self.plain = sorted(vals)
        self.percent = sorted({100 * v for v in vals})  # results hold fractions: 0.049 is quoted as 4.9%

    def has(self, value: float, decimals: int, pct: bool) -> bool:
        tol = 0.5 * 10**-decimals + 1e-9
        pool = self.percent if pct else self.plain
        i = bisect.bisect_left(pool, value - tol)
        return i < len(pool) and pool[i] <= value + tol


def unsourced(text: str, pool: Pool) -> list[str]:
    return [s for s, v, d, pct in figures(text) if not pool.has(v, d, pct)]


@pytest.fixture(scope="module")
def rendered():
    data = report.load_results()
    text, computed = report.render(data=data)
    leaves = list(report.numeric_leaves(data))  # benchmarks/published.json too: the figures others published
    return text, Pool(leaves + computed)


def test_benchmarks_md_is_what_report_py_writes(rendered):
    text, _ = rendered
    assert (ROOT / "BENCHMARKS.md").read_text() == text, "BENCHMARKS.md is stale: run python benchmarks/report.py"


def test_report_check_flag_agrees():
    assert report.main(["--check"]) == 0


def test_template_text_holds_no_figure():
    """Every figure in BENCHMARKS.md is a placeholder: the template's own words quote none."""
    text = re.sub(r"\{\{.+?\}\}", " ", report.TEMPLATE.read_text())
    assert [s for s, *_ in figures(text)] == []


@pytest.mark.parametrize("path", PROSE, ids=lambda p: p.name)
def test_every_quoted_figure_is_in_a_results_file(path, rendered):
    _, pool = rendered
    assert unsourced(path.read_text(), pool) == []


def test_a_wrong_figure_is_caught(rendered):
    _, pool = rendered
    rows = {r["name"]: r for r in report.load_results()["routing"]["rows"]}
    pilot, best = rows["pilot"]["ndcg@10"]["avg"], rows["bm25"]["ndcg@10"]["avg"]
    p = rows["pilot"]["p_value_vs_best_single"]
    ovh = rows["auto"]["routing_overhead"]
    wrong = next(x for x in ("0.8123", "0.7311", "0.9137", "0.6667") if not pool.has(float(x), 4, False))
    right = f"the paper's `pilot` then scores {pilot:.4f} against the best single expert's {best:.4f} (p = {p:.4f})"
    assert unsourced(right, pool) == []
    assert unsourced(right.replace(f"{pilot:.4f}", wrong), pool) == [wrong]
    assert unsourced(f"a routing overhead of {100 * ovh:.1f}%", pool) == []
    assert unsourced("a routing overhead of 4.3719%", pool) == ["4.3719%"]


def test_p_values_are_quoted_only_from_files_of_the_tables_test():
    data = report.load_results()
    older = {**data, "routing": {k: v for k, v in data["routing"].items() if k != "p_test"}}
    rep = report.Report(older)
    ns = rep.namespace()
    pilot = next(r for r in data["routing"]["rows"] if r["name"] == "pilot")
    assert ns["avg"]("pilot", "routing") == pilot["ndcg@10"]["avg"]  # nDCG is still quotable
    with pytest.raises(report.ReportError, match="p_test=None"):
        ns["p"]("pilot", "routing")
    with pytest.raises(report.ReportError, match="re-run its benchmark"):
        report.t_routing(rep, "routing", "p,passes")
    assert report.t_routing(rep, "routing", "passes,ms")  # tables without p-values still render


def test_figures_skip_versions_code_and_allowed_numbers():
    text = (
        "torch 2.13.0, bm25s 0.3.16, `pilot@min_share=0.15`, arXiv 2409.02685, cosine >= 0.9999,\n"
        "```\npython x.py --tolerance 0.01\n```\n0.4677 and 60% and 1.2-1.3% and 3,929 queries, 2.42x,\n"
        "e5-small, -0.5"
    )
    assert [s for s, *_ in figures(text)] == ["0.4677", "60%", "1.2%", "1.3%", "2.42", "0.5"]


def test_a_changed_result_changes_benchmarks_md():
    data = report.load_results()
    pilot = next(r for r in data["routing-lora4-tfidf"]["rows"] if r["name"] == "pilot")
    pilot["ndcg@10"]["avg"] = 0.4321
    text, _ = report.render(data=data)
    assert "0.4321" in text and text != (ROOT / "BENCHMARKS.md").read_text()


def test_a_placeholder_without_a_result_is_an_error(tmp_path):
    template = tmp_path / "t.md"
    template.write_text("<!-- source routing -->\nfine {{avg('pilot')}}\nbad {{avg('no-such-router')}}\n")
    data = report.load_results()
    with pytest.raises(report.ReportError, match=r"t.md:3: .*no row 'no-such-router'"):
        report.render(template, data)
    template.write_text("<!-- source routing -->\nfine {{avg('pilot'):.3f}}\n")
    assert report.render(template, data)[0].endswith("fine 0.442\n")

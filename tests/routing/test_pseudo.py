"""Pseudo-queries from a collection's own documents, and routers fitted on them (issue #16, item 1)."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from embedroute import Collection
from embedroute.errors import InputError, UnknownNameError
from embedroute.evaluation.pseudo_routing import pseudo_queries_for, pseudo_routing_queries
from embedroute.evaluation.router_fit import fit_routers
from embedroute.evaluation.routing import evaluate_routing
from embedroute.routing.pseudo import SourceDocument, make_pseudo_queries

EXPERTS = ["bm25", "static64"]
RNG = np.random.default_rng


def doc(i: str, text: str, title: str | None = None) -> SourceDocument:
    return SourceDocument(i, title, text)


# ---- generators, on hand-made documents -----------------------------------------------------------------
def test_title_is_the_title_and_needs_two_words():
    (title,) = make_pseudo_queries([doc("1", "Some text here.", "Vitamin D and bone health")], ["title"])
    assert (title.text, title.doc_id, title.generator) == ("Vitamin D and bone health", "1", "title")
    assert make_pseudo_queries([doc("2", "Some text here.", "Vitamin"), doc("3", "Text only here.")], ["title"]) == []


def test_crop_is_one_sentence_of_query_length():
    text = "Short. The first long sentence has seven words in it. A second one with six words here! Tiny one."
    wanted = {"The first long sentence has seven words in it.", "A second one with six words here!"}
    seen = {make_pseudo_queries([doc("1", text)], ["crop"], seed=s)[0].text for s in range(20)}
    assert seen == wanted  # only the two sentences of 3 to 24 words, each drawn for some seed


def test_crop_of_a_text_without_sentences_is_a_contiguous_span():
    tokens = [f"w{i}" for i in range(60)]  # one 60-word "sentence": too long, so a span of it
    for seed in range(10):
        (q,) = make_pseudo_queries([doc("1", " ".join(tokens))], ["crop"], seed=seed)
        got = q.text.split()
        start = tokens.index(got[0])
        assert 3 <= len(got) <= 24 and got == tokens[start : start + len(got)]
    assert make_pseudo_queries([doc("1", "two words")], ["crop"]) == []


def test_keywords_are_the_documents_top_tfidf_terms_in_document_order():
    corpus = [
        doc("1", "the zebra and the zebra met an okapi near the river"),
        doc("2", "the river and the hill"),
        doc("3", "the hill and the river"),
    ]
    for seed in range(10):
        q = make_pseudo_queries(corpus, ["keywords"], seed=seed)[0]
        terms = q.text.split()
        assert q.doc_id == "1" and len(terms) == len(set(terms)) and 3 <= len(terms) <= 6
        # zebra: twice in doc 1 and in no other document: (1 + ln 2) x (ln(4 / 2) + 1), the top weight
        assert "zebra" in terms
        own = "the zebra and the zebra met an okapi near the river".split()
        assert [own.index(t) for t in terms] == sorted(own.index(t) for t in terms)


def test_masked_drops_the_crops_rarer_half_of_terms():
    corpus = [doc("1", "Patients taking quinapril showed lower blood pressure than the others.")]
    corpus += [doc(str(i), f"The patients and the others had blood tests number {i}.") for i in range(2, 12)]
    (q,) = [p for p in make_pseudo_queries(corpus, ["masked"]) if p.doc_id == "1"]
    words = q.text.lower().split()
    # terms only document 1 holds are the rarest, so they are the ones dropped
    for rare in ("quinapril", "showed", "lower", "pressure", "taking"):
        assert rare not in words
    assert {"patients", "the", "others."} & set(words)


def test_generator_names_and_determinism():
    docs = [doc(str(i), f"Sentence number {i} has enough words. Another sentence for document {i}.") for i in range(30)]
    assert make_pseudo_queries(docs, seed=3) == make_pseudo_queries(docs, seed=3)
    crops = {s: [q.text for q in make_pseudo_queries(docs, ["crop"], seed=s)] for s in (0, 1)}
    assert crops[0] != crops[1]
    with pytest.raises(UnknownNameError, match="pseudo-query generator 'headline'"):
        make_pseudo_queries(docs, ["headline"])
    with pytest.raises(InputError, match="at least one"):
        make_pseudo_queries(docs, [])


# ---- routing data from a real collection ------------------------------------------------------------------
@pytest.fixture(scope="module")
def col(tmp_path_factory, sample_dir_module):
    from embedroute.evaluation.beir import load_beir

    c = Collection.create(tmp_path_factory.mktemp("pseudo") / "c", experts=EXPERTS)
    c.add(load_beir(sample_dir_module).corpus(), show_progress=False)
    yield c
    c.close()


@pytest.fixture(scope="module")
def sample_dir_module():
    from embedroute.demo import sample_path

    return sample_path()


def test_pseudo_query_scores_are_each_experts_ndcg_of_the_source_document(col):
    queries = pseudo_queries_for(col, max_queries=120, seed=0)
    assert len(queries) == 120 and {q.generator for q in queries} == {"title", "crop", "keywords", "masked"}
    got = pseudo_routing_queries(col, queries, show_progress=False)
    scores = np.vstack(got.scores)
    assert got.experts == EXPERTS and scores.shape == (120, 2) and got.datasets == ["pseudo:c"] * 120
    for i in range(0, 120, 7):  # by hand: 1 / log2(rank + 1) of the source document in the top 10, else 0
        for j, e in enumerate(EXPERTS):
            hits = col.search(queries[i].text, 10, expert=e).hits
            rank = next((h.rank for h in hits if h.id == queries[i].doc_id), None)
            want = 0.0 if rank is None else 1 / math.log2(rank + 1)
            assert scores[i, j] == pytest.approx(want, abs=1e-6), (queries[i], e)
    assert scores.max() == 1.0  # some source documents come first


def checksums(c: Collection) -> tuple:
    _, texts, sums = c._store.texts_and_checksums()
    blobs = {e: c._store.blobs(e) for e in c.experts}
    return texts, sums, {e: (r.tolist(), b) for e, (r, b) in blobs.items()}


def test_fit_routers_without_labels_fits_on_pseudo_queries_and_changes_no_document(col):
    before = checksums(col)
    fits = fit_routers(col, ["pilot", "auto"], None, routing_expert="static64", max_queries=200, show_progress=False)
    assert checksums(col) == before  # documents and vectors untouched
    for fit in fits:
        assert fit.training_queries == 200 and fit.datasets == ["pseudo:c"]
        assert fit.source["labelled"] is None and fit.source["pseudo"]["queries"] == 200
        assert "200 pseudo-queries from the collection's own documents" in str(fit)
    saved = json.loads((col.path / "routers" / "pilot.json").read_text())
    assert saved["routing_data"]["pseudo"]["generators"] == ["title", "crop", "keywords", "masked"]
    col.reload_routers()
    query = "vitamin D deficiency and bone fractures"
    res = col.routed_search(query, router="pilot")
    (chosen,) = res.routing.experts
    assert res.routing.rule == "pilot" and chosen in EXPERTS
    assert [h.id for h in res.hits] == [h.id for h in col.search(query, expert=chosen).hits]  # the chosen one searched


def test_fit_routers_self_supervised_mixes_labelled_and_pseudo_queries(col, sample_dir_module):
    (fit,) = fit_routers(
        col,
        ["dataset"],
        [sample_dir_module],
        routing_expert="static64",
        self_supervised=True,
        max_queries=100,
        show_progress=False,
    )
    labelled = fit.source["labelled"]["datasets"]
    assert fit.training_queries == 100 + sum(labelled.values()) and fit.datasets == sorted([*labelled, "pseudo:c"])


def test_collections_too_small_or_without_text_are_clear_errors(tmp_path):
    small = Collection.create(tmp_path / "small", experts=["bm25"])
    small.add([{"id": str(i), "text": f"document number {i} about things"} for i in range(5)], show_progress=False)
    with pytest.raises(InputError, match="has 5 documents; routing from its own documents needs at least 20"):
        fit_routers(small, ["pilot"], None, routing_expert="tfidf")
    small.close()
    terse = Collection.create(tmp_path / "terse", experts=["bm25"])
    terse.add([{"id": str(i), "text": f"x{i}"} for i in range(30)], show_progress=False)
    with pytest.raises(InputError, match="too little text"):
        fit_routers(terse, ["pilot"], None, routing_expert="tfidf")
    with pytest.raises(InputError, match="names no BEIR folder"):
        fit_routers(terse, ["pilot"], [], routing_expert="tfidf")
    with pytest.raises(InputError, match="give train_from"):
        fit_routers(terse, ["pilot"], None, routing_expert="tfidf", self_supervised=True)
    terse.close()


def test_self_supervised_evaluation_reads_no_test_query_to_fit(tmp_path, sample_dir_module):
    """Two copies of the sample that differ only in their test queries give the same fitted routers."""
    other = tmp_path / "other"
    shutil.copytree(sample_dir_module, other)
    qrels = (other / "qrels" / "test.tsv").read_text().splitlines()
    (other / "qrels" / "test.tsv").write_text("\n".join(qrels[: len(qrels) // 2]) + "\n")
    kw = dict(routing_expert="static64", self_supervised=True, show_progress=False, seed_spread=0)
    a = evaluate_routing([sample_dir_module], EXPERTS, ["pilot", "auto"], workdir=tmp_path / "a", **kw).to_dict()
    b = evaluate_routing([other], EXPERTS, ["pilot", "auto"], workdir=tmp_path / "b", **kw).to_dict()
    assert a["self_supervised"] and a["train_from"] == [] and a["training_queries"] > 0
    assert a["training_queries"] == b["training_queries"]
    for ra, rb in zip(a["rows"], b["rows"]):
        if ra["kind"] == "router":
            assert (ra["train_cv_ndcg@10"], ra.get("rule")) == (rb["train_cv_ndcg@10"], rb.get("rule"))
    assert a["pseudo"]["scifact-sample"]["per_generator"] == b["pseudo"]["other"]["per_generator"]
    with pytest.raises(InputError, match="train_from"):
        evaluate_routing([sample_dir_module], EXPERTS, ["pilot"], workdir=tmp_path / "c", show_progress=False)


def test_a_generator_named_by_a_string_or_twice_is_that_one_generator(col):
    """``generators="crop"`` is the crop generator (not c, r, o, p), and a name given twice makes its queries once."""
    from embedroute.evaluation.pseudo_routing import PseudoSpec, pseudo_source

    docs = [doc(str(i), "Some text here for it.", f"Title number {i}") for i in range(5)]
    assert len(make_pseudo_queries(docs, ["title", "title"])) == 5
    assert PseudoSpec(generators="crop").generators == ("crop",)
    made = pseudo_queries_for(col, "title", max_queries=40)
    assert pseudo_source(made, "title")["per_generator"] == {"title": 40}
    (fit,) = fit_routers(
        col, ["dataset"], None, generators="crop", routing_expert="static64", max_queries=40, show_progress=False
    )
    assert fit.source["pseudo"]["generators"] == ["crop"] and fit.source["pseudo"]["per_generator"] == {"crop": 40}


def test_documents_without_titles_still_give_max_queries(tmp_path):
    """A generator that gives no query for any document (no titles) does not leave the routing data short."""
    c = Collection.create(tmp_path / "untitled", experts=["bm25"])
    text = "Document {i} talks about topic number {i} at length. It has a second sentence about {i} too."
    c.add([{"id": str(i), "text": text.format(i=i)} for i in range(400)], show_progress=False)
    made = pseudo_queries_for(c, ["title", "crop"], max_queries=300)
    assert len(made) == 300 and {q.generator for q in made} == {"crop"} and len({q.doc_id for q in made}) == 300
    assert made == pseudo_queries_for(c, ["title", "crop"], max_queries=300)  # the same seed, the same queries
    with pytest.raises(InputError, match="max_queries must be at least 20, got 19"):
        pseudo_queries_for(c, max_queries=19)
    c.close()

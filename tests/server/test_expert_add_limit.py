"""POST /api/collections/NAME/experts checks MAX_EXPERTS when the request comes, but jobs queued before
the first one ran all passed that check: the job itself must refuse to pass the limit."""

from __future__ import annotations

from embedroute.server.api_collections import MAX_EXPERTS, add_expert_task
from embedroute.server.pool import Pool


def test_expert_add_jobs_queued_together_cannot_pass_max_experts(tmp_path):
    pool = Pool(tmp_path)
    experts = ["bm25"] + [{"source": "bm25", "name": f"b{i}"} for i in range(1, MAX_EXPERTS - 1)]
    pool.create("c", experts, None)
    with pool.use("c") as col:
        col.add([{"id": "a", "text": "cats purr"}])
        assert len(col.experts) == MAX_EXPERTS - 1
    # two requests accepted while the collection had one slot left; their jobs run one after the other
    jobs = [add_expert_task(pool, "c", {"source": "bm25", "name": n}) for n in ("x1", "x2")]
    assert jobs[0](lambda *a: None)["experts"][-1] == "x1"
    try:
        jobs[1](lambda *a: None)
        raised = None
    except Exception as exc:  # noqa: BLE001 - the job runner reports any error on the job
        raised = exc
    assert raised is not None and "most it may have" in str(raised)
    with pool.use("c") as col:
        assert len(col.experts) == MAX_EXPERTS and "x2" not in col.experts
    pool.close()

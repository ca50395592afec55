"""The demo collection the server can build at start: a BEIR folder (default: the built-in SciFact
sample) with two experts, two derived attributes to filter on, and fitted routers."""

from __future__ import annotations

from pathlib import Path

from ..collection import Collection
from ..collection.manifest import MANIFEST
from ..errors import InputError
from ..evaluation.beir import load_beir

ROUTERS = ("pilot", "pilot-nearest", "fusion", "auto", "qpp", "fusion-adaptive")


def length_bucket(words: int) -> str:
    """``short`` (< 150 words), ``medium`` (< 250) or ``long``.

    >>> length_bucket(40), length_bucket(200), length_bucket(900)
    ('short', 'medium', 'long')
    """
    return "short" if words < 150 else "medium" if words < 250 else "long"


def ensure_sample(
    root: Path, data: Path, *, experts: tuple[str, ...] = ("minilm", "bm25"), show_progress: bool = True
) -> str:
    """Create ``root/<dataset name>`` over ``data`` unless it exists; return the collection's name.

    Each document gets ``words`` (int, words in its text) and ``length`` (str bucket) attributes, and
    the routers in :data:`ROUTERS` are fitted from the dataset's own judged queries (half of them when
    it has no train split) so the page can show routing, which embeds queries with the first dense
    expert: ``experts`` without one is an :class:`~embedroute.errors.InputError`, before anything is built.
    """
    from ..evaluation.router_fit import fit_routers
    from ..experts.registry import expert_from_spec
    from ..routing.models import default_routing_expert

    ds = load_beir(data)
    name = ds.name
    path = root / name
    if (path / MANIFEST).exists():
        return name
    if default_routing_expert({e.name: e.kind for e in map(expert_from_spec, experts)}) is None:
        raise InputError(
            f"the sample collection's routers need a dense expert to embed queries; got "
            f"{', '.join(experts) or 'none'} (add one, e.g. minilm)",
            field="experts",
        )
    tmp = root / f".{name}.building"
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)  # a build that died half-way; start it again
    docs = []
    for d in ds.corpus():
        words = len(d["text"].split())
        docs.append(d | {"attributes": {"words": words, "length": length_bucket(words)}})
    with Collection.create(tmp, experts=list(experts), attributes={"words": "int", "length": "str"}) as col:
        col.add(docs, show_progress=show_progress)
        fit_routers(col, ROUTERS, [data], show_progress=show_progress)  # routing: the first dense expert
    tmp.rename(path)  # appears whole or not at all
    return name

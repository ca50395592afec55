"""``embedroute expert add|remove``: change a built collection's experts; nothing else is re-encoded."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from ..errors import EmbedrouteError


def _option(value: str) -> tuple[str, Any]:
    key, eq, raw = value.partition("=")
    if not eq or not key.strip():
        raise argparse.ArgumentTypeError(f"an option is KEY=VALUE, got {value!r}")
    try:
        parsed = json.loads(raw)  # numbers, true/false, lists
    except json.JSONDecodeError:
        parsed = raw
    return key.strip(), parsed


def cmd_expert_add(a: argparse.Namespace) -> int:
    """``embedroute expert add``: add an expert to a collection and encode every stored document for it."""
    from ..collection import Collection

    spec: dict[str, Any] = {"source": a.source, "options": dict(a.option or [])}
    if a.name:
        spec["name"] = a.name
    with Collection.open(a.path) as col:
        t0 = time.perf_counter()
        expert = col.add_expert(spec, show_progress=not a.quiet)
        seconds = time.perf_counter() - t0
        print(
            f"added expert {expert.name} ({expert.kind}) to {a.path}: {len(col)} documents in {seconds:.1f}s; "
            f"experts now {', '.join(col.experts)}"
        )
        if col.routers:
            print(
                f"fitted routers ({', '.join(col.routers)}) route among the experts they were fitted on; "
                f"fit them again (`embedroute route`) to route to {expert.name}"
            )
    return 0


def cmd_expert_remove(a: argparse.Namespace) -> int:
    """``embedroute expert remove``: drop an expert and its stored vectors; fitted routers route among the rest."""
    from ..collection import Collection

    with Collection.open(a.path) as col:
        if a.name not in col.experts:
            raise EmbedrouteError(f"collection has no expert {a.name!r}; it has: {', '.join(col.experts)}")
        col.remove_expert(a.name)
        print(
            f"removed expert {a.name} from {a.path}; experts now {', '.join(col.experts)}"
            + (f"; fitted routers ({', '.join(col.routers)}) now route among the rest" if col.routers else "")
        )
    return 0


def register(sub: Any) -> None:
    """Add the ``expert`` command (with ``add`` and ``remove``) to the CLI's subparsers."""
    s = sub.add_parser("expert", help="add or remove an expert of a built collection (others untouched)")
    actions = s.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add an expert and encode every stored document for it")
    add.add_argument("path")
    add.add_argument("source", help="expert name (see `embedroute models`), model folder or hub id")
    add.add_argument("--name", default=None, help="name it takes in the collection (default: from source)")
    add.add_argument(
        "--option",
        type=_option,
        action="append",
        metavar="KEY=VALUE",
        help="expert option, repeatable, e.g. --option index=hnsw (values parsed as JSON)",
    )
    add.add_argument("--quiet", action="store_true")
    add.set_defaults(func=cmd_expert_add)
    rm = actions.add_parser("remove", help="drop an expert and its vectors")
    rm.add_argument("path")
    rm.add_argument("name")
    rm.set_defaults(func=cmd_expert_remove)

"""Per-instance memo of an encoder's fingerprint, the embedding cache key's model half.

A fingerprint hashes the encoder's config, whose weight hash walks the model folder and whose library
versions read package metadata: milliseconds, on every cached query (#21). The memo is keyed by the role and
by the instance's plain attributes (prompts, truncation, lengths, paths, precision), so changing any of them
gives a new fingerprint, while the weight files are hashed once per instance: the weights an instance
encodes with are the ones it loaded. Written by hand: ``functools`` memoises on arguments, not on an
object's mutable state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

_PLAIN = (type(None), bool, int, float, str, PurePath, dict, list, tuple)
_MEMO = "_fingerprints"


def state_key(obj: object) -> str:
    """``repr`` of ``obj``'s plain-valued attributes (models, sessions and tokenizers left out)."""
    return repr([(k, v) for k, v in sorted(vars(obj).items()) if k != _MEMO and isinstance(v, _PLAIN)])


def memoised(obj: object, role: str, compute: Callable[[], str]) -> str:
    """``compute()`` the first time for this role and state of ``obj``, the remembered value after."""
    memo: dict[tuple[str, str], str] = obj.__dict__.setdefault(_MEMO, {})
    key = (role, state_key(obj))
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = compute()
        memo[(role, state_key(obj))] = hit  # computing may settle lazy state (the precision it runs at)
    return hit

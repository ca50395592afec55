"""Query-token ball carving before reranking (MUVERA, arXiv 2405.19504, Appendix C.3): greedily take the
first unassigned token as a centre, group every unassigned token whose inner product with it is at least
``tau``, and replace the group by its sum (so MaxSim's sum over query tokens is kept)."""

from __future__ import annotations

import numpy as np


def ball_carve(query: np.ndarray, tau: float = 0.7) -> np.ndarray:
    """Fewer query vectors whose MaxSim approximates the original's.

    >>> q = np.array([[1.0, 0.0], [0.99, 0.141], [0.0, 1.0]])
    >>> [[round(float(v), 2) for v in row] for row in ball_carve(q)]
    [[1.99, 0.14], [0.0, 1.0]]
    """
    q = np.asarray(query, dtype=np.float32)
    free = np.ones(len(q), dtype=bool)
    out = []
    for i in range(len(q)):
        if not free[i]:
            continue
        members = free & (q @ q[i] >= tau)
        members[i] = True
        out.append(q[members].sum(0))
        free &= ~members
    return np.stack(out) if out else q

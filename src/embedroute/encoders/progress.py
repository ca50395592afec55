"""A tqdm progress bar for encoding that shows passages/s, tokens/s and an ETA."""

from __future__ import annotations

import sys
import time
from typing import Any


class EncodeProgress:
    """Context manager; ``update(n_texts, n_tokens)`` after each batch."""

    def __init__(self, total: int, *, desc: str, enabled: bool = True) -> None:
        self.total = total
        self.desc = desc
        self.enabled = enabled and total > 0
        self.tokens = 0
        self._bar: Any = None
        self._t0 = 0.0

    def __enter__(self) -> EncodeProgress:
        self._t0 = time.perf_counter()
        if self.enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.total, desc=self.desc, unit="text", file=sys.stderr, dynamic_ncols=True, mininterval=0.5
            )
        return self

    def update(self, n_texts: int, n_tokens: int) -> None:
        """Count ``n_texts`` more encoded texts of ``n_tokens`` tokens, updating the bar's tokens/s."""
        self.tokens += n_tokens
        if self._bar is not None:
            elapsed = max(time.perf_counter() - self._t0, 1e-9)
            self._bar.set_postfix_str(f"{self.tokens / elapsed:,.0f} tok/s", refresh=False)
            self._bar.update(n_texts)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

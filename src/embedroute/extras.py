"""The optional extras: which feature needs which third-party module, and the one place that imports them.

The core install (``pip install embedroute``) is the engine: collections, experts, indexes, routing,
evaluation metrics. The HTTP server, LoRA training and plotting need more, declared as extras in
``pyproject.toml``. Code on those paths imports the extra's modules through :func:`require`, so a core-only
install that reaches them gets an :class:`~embedroute.errors.ExtraNotInstalledError` naming the install line
instead of a bare ``ModuleNotFoundError`` traceback.

>>> require("train", "json").__name__  # any importable module is simply returned
'json'
>>> require("nope", "json")
Traceback (most recent call last):
...
ValueError: unknown extra 'nope' (known: server, train, eval)
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import ExtraNotInstalledError

#: extra -> the top-level modules it provides (dependencies of those included: starlette comes with fastapi)
EXTRAS: dict[str, tuple[str, ...]] = {
    "server": ("fastapi", "starlette", "uvicorn", "prometheus_client"),
    "train": ("peft",),
    "eval": ("matplotlib", "ranx"),
}

#: what each extra is for, in the error message
PURPOSE = {
    "server": "the HTTP server (embedroute serve)",
    "train": "LoRA query experts (training them and loading trained ones)",
    "eval": "plots and ranx cross-checks",
}


def install_line(extra: str) -> str:
    """The pip command that installs ``extra``.

    >>> install_line("server")
    'pip install "embedroute[server]"'
    """
    return f'pip install "embedroute[{extra}]"'


def require(extra: str, module: str) -> ModuleType:
    """Import ``module`` (a module of ``extra``, or a submodule of one) and return it; raise
    :class:`ExtraNotInstalledError` naming ``extra``'s install line when it, or another module of that extra it
    needs, is not installed. Any other missing module is a real bug and propagates unchanged."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r} (known: {', '.join(EXTRAS)})")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in {module.split(".")[0], *EXTRAS[extra]}:
            raise
        raise ExtraNotInstalledError(
            f"{PURPOSE[extra]} needs the {extra!r} extra ({missing} is not installed): {install_line(extra)}",
            name=missing,
        ) from None

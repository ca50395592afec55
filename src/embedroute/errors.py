"""Errors raised by embedroute. Every error names what was wrong and where."""

from __future__ import annotations


class EmbedrouteError(Exception):
    """Base class of every error embedroute raises on purpose."""


class InputError(EmbedrouteError, ValueError):
    """Bad user input, located by source (file or ``<input>``), line (1-based) and field.

    >>> str(InputError("bad id", source="docs.jsonl", line=3, field="id"))
    'docs.jsonl, line 3, field "id": bad id'
    """

    def __init__(
        self, message: str, *, source: str | None = None, line: int | None = None, field: str | None = None
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.field = field
        where = []
        if source is not None:
            where.append(str(source))
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f'field "{field}"')
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class UnknownNameError(EmbedrouteError, KeyError):
    """A registry lookup of a name that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ModelNotAvailableError(EmbedrouteError, RuntimeError):
    """A model has no local copy and cannot be fetched (no network, or offline mode)."""


class ExtraNotInstalledError(EmbedrouteError, ImportError):
    """A feature needs an optional extra (``server``, ``train``, ``eval``) that is not installed; the message
    is the ``pip install "embedroute[...]"`` line that fixes it. An ``ImportError`` too, so code that probes
    for an optional module by catching ``ImportError`` keeps working."""


class CollectionError(EmbedrouteError, RuntimeError):
    """A collection on disk is missing, locked, or not what the caller asked for."""


class StorageError(CollectionError):
    """A collection's files could not be opened or written: a read-only folder, a full disk, an I/O
    error, a damaged store. Names the file by its name in the collection folder, never by full path."""

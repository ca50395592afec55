"""Names a caller chooses that end up in a file name or a lookup: collections, experts, router specs, job ids.

One pattern and one check for all of them, so that none can climb out of the folder it is looked up in
(``../x``, ``..\\x``, an absolute path, a NUL byte), plus :func:`file_inside`, which also confirms that the
resolved file stays in its folder (a symlink planted there cannot lead elsewhere). The pattern admits every
router spec the project uses (``pilot``, ``fusion-topk``, ``single:bm25``, ``pilot@min_share=0.15;per_group=3``,
``tau=-0.1``, ``1e-3``) and expert names such as ``tokens:minilm``; error messages never repeat the value,
which may be a path.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import InputError

#: the longest name accepted (a router spec with several parameters fits; a file name of it stays short)
LONGEST = 200
#: a letter or digit, then letters, digits and ``. _ - : ; = @ , +``; never ``/``, ``\\``, ``%``, a space or NUL
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:;=@,+-]*")
RULE = (
    f"1-{LONGEST} letters, digits and . _ - : ; = @ , + starting with a letter or digit, without '..' "
    "(no path separators)"
)


def check_name(value: object, *, field: str) -> str:
    """``value`` if it is a safe name (see :data:`SAFE_NAME`), else an :class:`InputError` naming ``field``.

    >>> check_name("pilot@min_share=0.15;per_group=3", field="router")
    'pilot@min_share=0.15;per_group=3'
    >>> check_name("../../etc/passwd", field="router")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    embedroute.errors.InputError: field "router": must be 1-200 letters, digits and ...
    """
    if not isinstance(value, str):
        raise InputError("must be a string", field=field)
    if "\x00" in value:
        raise InputError("contains a NUL byte", field=field)
    if len(value) > LONGEST:
        raise InputError(f"is longer than {LONGEST} characters", field=field)
    if not SAFE_NAME.fullmatch(value) or ".." in value:
        raise InputError(f"must be {RULE}", field=field)
    return value


def file_inside(folder: Path, name: str, suffix: str, *, field: str) -> Path:
    """``folder / (name + suffix)`` once ``name`` passes :func:`check_name` and the file, resolved (symlinks
    followed), lies directly in ``folder`` (resolved too); else an :class:`InputError` naming ``field``."""
    check_name(name, field=field)
    path = folder / f"{name}{suffix}"
    try:
        inside = path.resolve().parent == folder.resolve()
    except (OSError, RuntimeError):  # a symlink loop, a name the file system refuses
        inside = False
    if not inside:
        raise InputError("does not name a file inside its folder", field=field)
    return path

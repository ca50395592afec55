"""embedroute: one collection, several embedding experts, each query sent to the expert that fits it.

>>> import tempfile, embedroute
>>> col = embedroute.Collection.create(tempfile.mkdtemp() + "/notes", experts=["bm25"])
>>> col.add([{"id": "1", "text": "BM25 ranks by term frequency"}]).added
1
>>> col.search("term frequency").hits[0].id
'1'
"""

from __future__ import annotations

from .collection import CheckReport, Collection, CompactReport, Hit, SearchResult, WriteReport
from .encoders import get_encoder
from .errors import (
    CollectionError,
    EmbedrouteError,
    ExtraNotInstalledError,
    InputError,
    ModelNotAvailableError,
    StorageError,
)
from .experts import expert_names, make_expert
from .storage.documents import Document

__version__ = "0.1.0"

__all__ = [
    "CheckReport",
    "CompactReport",
    "Collection",
    "CollectionError",
    "Document",
    "EmbedrouteError",
    "ExtraNotInstalledError",
    "Hit",
    "InputError",
    "ModelNotAvailableError",
    "SearchResult",
    "StorageError",
    "WriteReport",
    "expert_names",
    "get_encoder",
    "make_expert",
]

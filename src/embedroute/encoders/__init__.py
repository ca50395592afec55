"""Encoders: text embedding models behind one interface, looked up by name."""

from __future__ import annotations

from .base import DenseEncoder
from .catalog import ENCODERS, get_encoder
from .onnx import OnnxEncoder
from .static import StaticEncoder
from .transformer import TransformerEncoder

__all__ = ["DenseEncoder", "ENCODERS", "OnnxEncoder", "StaticEncoder", "TransformerEncoder", "get_encoder"]

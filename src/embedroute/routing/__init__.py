"""Routing: send each query to the expert that fits it (RouterRetriever, arXiv 2409.02685)."""

from __future__ import annotations

from . import adaptive, auto, baselines, hybrid, pilot, qpp  # noqa: F401  (register the routers)
from .base import ROUTERS, Route, Router, RoutingData
from .factory import make_router
from .fusion import rrf

__all__ = ["ROUTERS", "Route", "Router", "RoutingData", "make_router", "rrf"]

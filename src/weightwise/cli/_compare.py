"""`weightwise compare`'s engine lives in :mod:`weightwise.comparison`; this module re-exports
what the command and its tests use."""

from __future__ import annotations

from weightwise.comparison._engine import (
    DEFAULT_STRATEGIES,
    STRATEGIES,
    CompareConfig,
    CompareData,
    build_model,
    evaluate_probs,
    parse_hidden,
    parse_strategies,
    rank_strategies,
    run_compare,
    run_strategy,
)

__all__ = [
    "DEFAULT_STRATEGIES",
    "STRATEGIES",
    "CompareConfig",
    "CompareData",
    "build_model",
    "evaluate_probs",
    "parse_hidden",
    "parse_strategies",
    "rank_strategies",
    "run_compare",
    "run_strategy",
]

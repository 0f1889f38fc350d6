"""The examples in weightwise.comparison's docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "weightwise.comparison",
    "weightwise.comparison._api",
    "weightwise.comparison._stats",
    "weightwise.cli._errors",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0

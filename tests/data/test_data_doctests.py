"""The examples in weightwise.data's docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "weightwise.data",
    "weightwise.data._datasets",
    "weightwise.data._draw",
    "weightwise.data._samplers",
    "weightwise.data._split",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0

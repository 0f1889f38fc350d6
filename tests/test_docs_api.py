"""The API reference (docs/api/*.md) has an entry for every public name.

A name ``n`` in the ``__all__`` of a public package ``P`` has an entry when an API page holds
the directive ``::: P.n`` (mkdocstrings renders it from the docstring), when ``P.n`` is a
subpackage with its own page, or, for a re-export, when ``P``'s page links to the entry of the
same object under its home package. Plain Python: no MkDocs needed (``make docs`` checks that
every directive resolves, with ``--strict``).
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api"
#: Every public package and the page that documents it.
PAGES = {
    "weightwise": "weightwise.md",
    "weightwise.reduction": "reduction.md",
    "weightwise.losses": "losses.md",
    "weightwise.nn": "nn.md",
    "weightwise.weights": "weights.md",
    "weightwise.metrics": "metrics.md",
    "weightwise.metrics.functional": "metrics-functional.md",
    "weightwise.data": "data.md",
    "weightwise.datasets": "datasets.md",
    "weightwise.decision": "decision.md",
    "weightwise.schedules": "schedules.md",
    "weightwise.comparison": "comparison.md",
    "weightwise.keras": "keras.md",
    "weightwise.integrations.transformers": "integrations-transformers.md",
    "weightwise.cli": "cli.md",
}
_DIRECTIVE = re.compile(r"^::: +([\w.]+)\s*$", re.M)
_LINK = re.compile(r"\]\[([\w.]+)\]")


def _directives(page: str) -> set[str]:
    return set(_DIRECTIVE.findall((API / page).read_text()))


def _all_directives() -> set[str]:
    return set().union(*(_directives(p) for p in PAGES.values()))


def _public_packages() -> set[str]:
    """Every package reachable from ``weightwise`` through ``__all__`` (or its subpackages)."""
    found = set()
    for path in (ROOT / "src" / "weightwise").rglob("__init__.py"):
        parts = path.relative_to(ROOT / "src").parent.parts
        if not any(p.startswith("_") for p in parts):
            found.add(".".join(parts))
    for path in (ROOT / "src" / "weightwise").rglob("*.py"):
        parts = path.relative_to(ROOT / "src").with_suffix("").parts
        if not any(p.startswith("_") for p in parts) and path.name != "__init__.py":
            found.add(".".join(parts))
    return found


def test_every_public_module_has_a_page() -> None:
    # weightwise.integrations is a namespace for the optional bridges, with an empty __all__.
    assert _public_packages() - {"weightwise.integrations"} == set(PAGES)
    for module, page in PAGES.items():
        assert (API / page).is_file(), page
        assert module in _directives(page), f"{page} lacks '::: {module}'"


@pytest.mark.parametrize("module", sorted(PAGES))
def test_every_name_in_all_has_an_entry(module: str) -> None:
    if module == "weightwise.integrations.transformers":
        pytest.importorskip("transformers")
    mod = importlib.import_module(module)
    page = PAGES[module]
    here = _directives(page)
    everywhere = _all_directives()
    links = set(_LINK.findall((API / page).read_text()))
    missing = []
    for name in mod.__all__:
        path = f"{module}.{name}"
        obj = getattr(mod, name)
        if path in here:
            continue
        if inspect.ismodule(obj) and obj.__name__ in PAGES:
            continue
        # a re-export: a link to the entry of the same object under another public path
        if any(
            target in everywhere
            and target.rsplit(".", 1)[0] in PAGES
            and getattr(importlib.import_module(target.rsplit(".", 1)[0]), name, None) is obj
            for target in links
            if target.rsplit(".", 1)[-1] == name
        ):
            continue
        missing.append(name)
    assert not missing, f"docs/api/{page} has no entry for {missing}"


def test_no_entry_for_a_name_outside_all() -> None:
    # An entry of a name that left __all__ would document what is no longer public.
    for page in PAGES.values():
        for path in _directives(page):
            module, _, name = path.rpartition(".")
            if path in PAGES or module not in PAGES:
                continue
            if module == "weightwise.integrations.transformers":
                pytest.importorskip("transformers")
            assert name in importlib.import_module(module).__all__, f"{page}: {path}"

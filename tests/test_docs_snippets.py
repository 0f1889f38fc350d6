"""Every Python block of every page in docs/ runs.

Pages with their own runner (which also checks what the blocks print or compute) are left to
it; every other page's ```` ```python ```` blocks run here, in order, in one namespace per page,
in a scratch directory. Two HTML comments, invisible on the site, steer a page:

* ``<!-- docs-test: skip REASON -->`` just before a block: the block is not run (it needs a
  GPU, a process group or another engine); the reason is required.
* ``<!-- docs-test: setup`` ... ``-->``: the lines inside run first, to define what a fragment
  assumes (a batch of logits, counts).
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

DOCS = Path(__file__).resolve().parents[1] / "docs"
#: Pages whose blocks another test executes (and checks).
RUN_ELSEWHERE = {
    "keras.md": "tests/keras/test_keras_docs.py",
    "segmentation.md": "tests/test_docs_segmentation.py",
    "transformers.md": "tests/integrations/test_transformers_docs.py",
}
_EVENT = re.compile(
    r"<!--\s*docs-test:\s*(?P<kind>skip|setup)\b(?P<body>.*?)-->"
    r"|^(?P<indent>[ \t]*)```python[ \t]*\n(?P<code>.*?)^(?P=indent)```[ \t]*$",
    re.S | re.M,
)


def blocks(text: str) -> list[tuple[str, str]]:
    """The page's steps in order: ``("run", code)``, ``("setup", code)``, ``("skip", reason)``."""
    steps: list[tuple[str, str]] = []
    skip_next: str | None = None
    for m in _EVENT.finditer(text):
        if m["kind"] == "skip":
            reason = m["body"].strip()
            assert reason, "a docs-test: skip marker needs a reason"
            skip_next = reason
        elif m["kind"] == "setup":
            steps.append(("setup", textwrap.dedent(m["body"].strip("\n"))))
        elif skip_next is not None:
            steps.append(("skip", skip_next))
            skip_next = None
        else:
            steps.append(("run", textwrap.dedent(m["code"])))
    assert skip_next is None, "a docs-test: skip marker with no block after it"
    return steps


def test_the_parser_reads_markers() -> None:
    text = (
        "<!-- docs-test: setup\nx = 1\n-->\n```python\ny = x + 1\n```\n"
        "<!-- docs-test: skip needs a GPU -->\n```python\nimport cuda\n```\n"
        "* item\n\n  ```python\n  z = y\n  ```\n```text\nnot python\n```\n"
    )
    assert blocks(text) == [
        ("setup", "x = 1"),
        ("run", "y = x + 1\n"),
        ("skip", "needs a GPU"),
        ("run", "z = y\n"),
    ]


PAGES = sorted(p.name for p in DOCS.glob("*.md") if p.name not in RUN_ELSEWHERE)


def test_pages_run_elsewhere_exist() -> None:
    root = DOCS.parent
    for page, runner in RUN_ELSEWHERE.items():
        assert (DOCS / page).is_file() and (root / runner).is_file(), page
        assert f'"{page}"' in (root / runner).read_text(), runner


@pytest.mark.parametrize("page", PAGES)
def test_page_snippets_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.chdir(tmp_path)
    steps = blocks((DOCS / page).read_text())
    if not any(kind == "run" for kind, _ in steps):
        pytest.skip(f"docs/{page} has no Python block to run")
    torch.manual_seed(0)
    ns: dict[str, Any] = {"__name__": f"docs_{page[:-3]}"}
    for i, (kind, code) in enumerate(steps):
        if kind != "skip":
            exec(compile(code, f"docs/{page}:block{i}", "exec"), ns)

"""A Griffe extension: the reStructuredText idioms of weightwise's docstrings, as Markdown.

The docstrings are Google style (``Args:``, ``Returns:``, ``Example:``) with a few
reStructuredText habits that Markdown would print literally. Before mkdocstrings renders a
docstring, this rewrites:

* cross-reference roles (``:func:`x```, ``:class:`~a.b```, ``:mod:`x```, ...) into optional
  autorefs: a link when the target has an API entry, plain code otherwise (never a warning);
* a paragraph ending in ``::`` (a literal block follows) into one ending in ``:``, so the
  indented block below it renders as code, as it does in reST;
* the section title ``Example:`` into ``Examples:``, the title Griffe's Google parser reads as
  doctest examples (otherwise the ``>>>`` lines would render as Markdown quotes);
* simple tables (rows between ``=====  ====`` rules) into Markdown tables.

The docstrings themselves are left as they are; only the rendered page changes.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|meth|class|mod|attr|data|obj|exc):`(~?)([^`]+)`")
_RULE = re.compile(r"^(\s*)(=+(?: +=+)+)\s*$")
_EXAMPLE = re.compile(r"(?m)^(\s*)Example:[ \t]*$")


def _role(match: re.Match[str], base: str) -> str:
    short, target = match.group(1), match.group(2).strip()
    if target.startswith("."):  # relative to the object's package (``~._ranking.X``)
        target = base + target
    title = target.rsplit(".", 1)[-1] if short else target
    return (
        f'<autoref identifier="{html.escape(target)}" optional>'
        f"<code>{html.escape(title)}</code></autoref>"
    )


def _columns(rule: str) -> list[int]:
    return [m.start() for m in re.finditer(r"=+", rule)]


def _cells(line: str, starts: list[int]) -> list[str]:
    bounds = [*starts[1:], None]
    return [line[a:b].strip() for a, b in zip(starts, bounds, strict=True)]


def _tables(lines: list[str]) -> list[str]:
    """Rewrite each reST simple table (header, rule, rows, rule) into a Markdown table."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _RULE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent = m.group(1)
        starts = _columns(lines[i])
        rules = [i]
        j = i + 1
        while j < len(lines) and len(rules) < 3:
            if _RULE.match(lines[j]):
                rules.append(j)
            elif not lines[j].strip():
                break
            j += 1
        if len(rules) == 3:  # a header row: rule, header, rule, body, rule
            header = [_cells(line, starts) for line in lines[rules[0] + 1 : rules[1]]]
            body_lines = lines[rules[1] + 1 : rules[2]]
        elif len(rules) == 2:  # no header row
            header = []
            body_lines = lines[rules[0] + 1 : rules[1]]
        else:
            out.append(lines[i])
            i += 1
            continue
        rows: list[list[str]] = []
        for line in body_lines:
            cells = _cells(line, starts)
            if rows and not cells[0]:  # a continuation line of the row above
                rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
            else:
                rows.append(cells)
        head = header[0] if header else [""] * len(starts)
        if out and out[-1].strip():
            out.append("")
        out.append(indent + "| " + " | ".join(head) + " |")
        out.append(indent + "|" + " --- |" * len(starts))
        out.extend(indent + "| " + " | ".join(r) + " |" for r in rows)
        out.append("")
        i = rules[-1] + 1
    return out


def _literal_blocks(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        stripped = line.rstrip()
        if stripped.endswith("::") and not stripped.endswith(":::"):
            body = stripped[:-2].rstrip()
            if not body.strip():  # a lone ``::``: drop the line
                continue
            line = body + ":"
        out.append(line)
    return out


def rst_to_markdown(text: str, base: str = "") -> str:
    """The docstring ``text`` with its reST idioms in Markdown (``base``: the package path)."""
    text = _ROLE.sub(lambda m: _role(m, base), text)
    text = _EXAMPLE.sub(r"\1Examples:", text)
    lines = _literal_blocks(text.splitlines())
    return "\n".join(_tables(lines))


class RstIdioms(griffe.Extension):
    """Rewrite reST idioms of every docstring before it is parsed (see the module docstring)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is None:
            return
        module = obj if obj.is_module else obj.module
        base = module.path if module.is_package else module.path.rsplit(".", 1)[0]
        obj.docstring.value = rst_to_markdown(obj.docstring.value, base)

"""Text helpers shared by every stage: the closest valid name, keyword checks, port keywords,
and the HTML tables and boxes of notebook summaries."""

from __future__ import annotations

import difflib
import html
import re


def closest(name: str, choices) -> str:
    """' (did you mean "x"?)' for the nearest valid name, or ''."""
    names = {str(c).lower(): str(c) for c in choices}
    m = difflib.get_close_matches(str(name).lower(), list(names), n=1, cutoff=0.5)
    return f' (did you mean "{names[m[0]]}"?)' if m else ""


def check_keywords(owner: str, given: dict, allowed) -> None:
    """Refuse unknown keyword arguments, naming the closest valid one."""
    for k in given:
        raise TypeError(
            f'{owner}: unknown option "{k}"{closest(k, allowed)}. '
            f"Valid options: {', '.join(sorted(allowed))}."
        )


def port_keyword(key: str) -> str:
    """A keyword as a port name: ``input`` → "Input", ``final_cell`` → "FinalCell"."""
    return "".join(w[:1].upper() + w[1:] for w in key.split("_"))


def port_option(port: str) -> str:
    """A port name as a keyword: "Input" → ``input``, "CellState" → ``cell_state``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", port).lower()


def html_table(rows, head=None) -> str:
    """Rows of cells (already HTML) as a compact left-aligned table, with a header row."""
    cell = "padding:1px 10px 1px 0;text-align:left;vertical-align:top"
    top = "".join(f'<th style="{cell}">{h}</th>' for h in head) if head else ""
    body = "".join(
        "<tr>" + "".join(f'<td style="{cell}">{c}</td>' for c in r) + "</tr>" for r in rows
    )
    return f'<table style="border-collapse:collapse;margin:2px 0">{"<tr>" + top + "</tr>" if top else ""}{body}</table>'


BOX = (
    "display:inline-block;border:1px solid #b8c4d0;border-radius:6px;padding:6px 10px;"
    "font-family:sans-serif;font-size:13px;line-height:1.35;max-width:100%;box-sizing:border-box"
)


def html_box(title: str, *parts: str) -> str:
    """A notebook summary box: a bold title, then its parts (HTML). Its class lets a page's
    style sheet reach it (the documentation site undoes its theme's styling of sections)."""
    return (
        f'<div class="netgraph-box" style="{BOX}"><b>{html.escape(title)}</b>{"".join(parts)}</div>'
    )

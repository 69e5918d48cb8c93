"""A griffe extension for the API reference: the ``>>>`` examples of a docstring are fenced as
``pycon`` code blocks, so that the site shows them as code (Markdown would read ``>>>`` as
quotes). A block runs from its first ``>>>`` line to the next blank line, as doctest reads it."""

from __future__ import annotations

import griffe


def fence_examples(text: str) -> str:
    out, block = [], []

    def close():
        if block:
            indent = block[0][: len(block[0]) - len(block[0].lstrip())]
            out.extend([indent + "```pycon", *block, indent + "```"])
            block.clear()

    for line in text.splitlines():
        if block and not line.strip():
            close()
        if block or line.lstrip().startswith(">>>"):
            block.append(line)
        else:
            out.append(line)
    close()
    return "\n".join(out)


class DoctestBlocks(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_examples(obj.docstring.value)

"""Reading a tagged PDF the way assistive technology and extraction tools that honour tags do.

The text of each marked-content sequence (page, MCID) comes from pypdf's content-stream
walk (BDC … EMC around the text it shows); the structure tree (pikepdf) then says in
which order those sequences are read and which table cell holds them.
"""
from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pikepdf
from pypdf import PdfReader

Key = tuple[int, int]  # (page index, MCID)


@dataclass
class MarkedText:
    text: dict[Key, str] = field(default_factory=lambda: defaultdict(str))
    #: The baselines (user-space y) each sequence's text sits on: one per printed line.
    baselines: dict[Key, set[float]] = field(default_factory=lambda: defaultdict(set))


def marked_text(pdf: bytes) -> MarkedText:
    found = MarkedText()
    for index, page in enumerate(PdfReader(io.BytesIO(pdf)).pages):
        open_marks: list[int | None] = []

        def before(operator: bytes, operands: Any, cm: Any, tm: Any, open_marks: list[int | None] = open_marks) -> None:
            if operator == b"BDC":
                properties: Any = operands[1] if len(operands) > 1 else {}
                mcid = properties.get("/MCID") if hasattr(properties, "get") else None
                open_marks.append(None if mcid is None else int(mcid))
            elif operator == b"BMC":
                open_marks.append(None)
            elif operator == b"EMC" and open_marks:
                open_marks.pop()

        def shown(text: str, cm: Any, tm: Any, font: Any, size: Any, open_marks: list[int | None] = open_marks,
                  index: int = index) -> None:
            mcid = next((m for m in reversed(open_marks) if m is not None), None)
            if mcid is not None and text.strip():
                found.text[(index, mcid)] += text
                found.baselines[(index, mcid)].add(round(tm[5] * cm[3] + cm[5], 1))

        page.extract_text(visitor_operand_before=before, visitor_text=shown)
    return found


@dataclass
class Element:
    role: str  # "/TR", "/TD" …
    obj: Any
    page: int | None

    @property
    def children(self) -> list["Element"]:
        kids = self.obj.get("/K")
        kids = list(kids) if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []
        return [Element(str(k.S), k, self.page) for k in kids if isinstance(k, pikepdf.Dictionary) and "/S" in k]


class Structure:
    """The structure tree of ``pdf`` with the text of its marked content."""

    def __init__(self, pdf: bytes) -> None:
        self.pdf = pikepdf.open(io.BytesIO(pdf))
        self.pages: dict[Any, int] = {p.objgen: i for i, p in enumerate(self.pdf.pages)}
        self.marked = marked_text(pdf)

    @property
    def root(self) -> Any:
        return self.pdf.Root.get("/StructTreeRoot")

    def elements(self, role: str) -> Iterator[Element]:
        if self.root is None:
            return
        stack: list[Any] = [self.root.K]
        while stack:
            item = stack.pop(0)
            if isinstance(item, pikepdf.Array):
                stack[:0] = list(item)
            elif isinstance(item, pikepdf.Dictionary) and "/S" in item:
                if str(item.S) == role:
                    yield Element(role, item, None)
                if "/K" in item:
                    stack.insert(0, item.K)

    def content(self, item: Any, page: int | None = None) -> Iterator[Key]:
        """The (page, MCID) keys under ``item``, in reading order."""
        if isinstance(item, Element):
            item = item.obj
        if isinstance(item, int):
            assert page is not None
            yield (page, item)
        elif isinstance(item, pikepdf.Array):
            for kid in item:
                yield from self.content(kid, page)
        elif isinstance(item, pikepdf.Dictionary):
            if "/Pg" in item:
                page = self.pages[item.Pg.objgen]
            if item.get("/Type") == "/MCR":
                assert page is not None
                yield (page, int(item.MCID))
            elif "/K" in item:
                yield from self.content(item.K, page)

    def text(self, item: Any) -> str:
        return "".join(self.marked.text.get(key, "") for key in self.content(item))

    def lines(self, item: Any) -> int:
        """On how many printed lines the text of ``item`` sits."""
        return len({(key[0], y) for key in self.content(item) for y in self.marked.baselines.get(key, ())})

    def rows(self) -> list[list[Element]]:
        """Every table row's cells (TH/TD), in the order the structure reads them."""
        return [[c for c in row.children if c.role in ("/TD", "/TH")] for row in self.elements("/TR")]

"""Element lookup by local name for the declaration parsers, recording what was looked up (the rest of a
file is reported as not read), and masses in mg from ``Amount``/``Mass`` children."""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from xml.etree.ElementTree import Element

from gateway.composition.model import ParseResult, Skip, mass_mg

# Elements the parser looked up while parsing one file: the rest is reported as not read.
SEEN: ContextVar[set[int] | None] = ContextVar("composition_seen", default=None)


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def kids(el: Element, name: str) -> Iterator[Element]:
    seen = SEEN.get()
    for c in el:
        if isinstance(c.tag, str) and local(c.tag) == name:
            if seen is not None:
                seen.add(id(c))
            yield c


def kid(el: Element, name: str) -> Element | None:
    return next(kids(el, name), None)


def first(el: Element, *names: str) -> Element | None:
    """First child with one of ``names`` (Element truthiness is about children, so never use ``or``)."""
    for name in names:
        found = kid(el, name)
        if found is not None:
            return found
    return None


def descend(el: Element, *path: str) -> Iterator[Element]:
    """All elements under ``el`` following the local-name path (each step any number of matches)."""
    level = [el]
    for name in path:
        level = [c for parent in level for c in kids(parent, name)]
    return iter(level)


def amount(el: Element, where: str, result: ParseResult, *names: str) -> float | None:
    """Mass in mg from an ``Amount@value/@UOM`` or ``Mass@mass/@unitOfMeasure`` child; skip note if bad."""
    for name in names:
        node = kid(el, name)
        if node is None:
            continue
        value = node.get("value", node.get("mass"))
        unit = node.get("UOM", node.get("unitOfMeasure", node.get("unit")))
        try:
            return mass_mg(value, unit)
        except ValueError as exc:
            result.skipped.append(Skip(where, f"mass ignored: {exc}"))
            return None
    return None


def number(el: Element | None, attr: str) -> float | None:
    """A float attribute, or None when absent or not a finite number."""
    text = el.get(attr) if el is not None else None
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and value == value and abs(value) != float("inf") else None


def truthy(el: Element, *attrs: str) -> bool | None:
    """The first of ``attrs`` present as a boolean (true/false/yes/no/1/0), else None."""
    for attr in attrs:
        text = (el.get(attr) or "").strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
    return None

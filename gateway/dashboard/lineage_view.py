"""Geometry of the lot page's lineage SVG (pure: the lot's lineage in, boxes and edges out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from junkan.core.evidence import Lineage


@dataclass(frozen=True)
class Node:
    id: str
    kind: Literal["lot", "step"]
    x: float
    y: float
    label: str
    step_kind: str | None  # steps: dismantling, shredding, ... (translated on the page)
    mass_kg: float | None  # lots: the mass of their flow
    balance_ok: bool | None  # steps: whether their mass balance held
    is_self: bool  # the lot the page is about


@dataclass(frozen=True)
class Edge:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class LineageGraph:
    nodes: list[Node]
    edges: list[Edge]
    box_w: float
    box_h: float
    width: float
    height: float


def lineage_layout(lineage: Lineage | None, col_w: float = 190.0, row_h: float = 62.0) -> LineageGraph | None:
    """Rows for a top-down inputs -> steps -> outputs SVG: each node's row is its distance from the source side.

    Top-down because a lot's history is long (intake, 3-4 steps, their side outputs) and narrow: left to right
    it was 1,400 px wide with labels cut; this way it fits a phone once scaled to the page width. The edges
    are every step's flows (``StepBalance.inputs`` / ``outputs``), side outputs included."""
    if lineage is None or not lineage.steps:
        return None
    flows = [(f"lot:{f.lot_id}", f"step:{s.step_id}", f.lot_id, f.mass_kg) for s in lineage.steps for f in s.inputs]
    flows += [(f"step:{s.step_id}", f"lot:{f.lot_id}", f.lot_id, f.mass_kg) for s in lineage.steps for f in s.outputs]
    edges = [(a, b) for a, b, _, _ in flows]
    nodes = {n for e in edges for n in e}
    parents: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        parents[b].append(a)
    depth: dict[str, int] = {}

    def level(node: str, seen: tuple[str, ...] = ()) -> int:
        if node not in depth:
            if node in seen:  # a cycle would be a data error upstream; draw it flat rather than recurse forever
                return 0
            depth[node] = 1 + max((level(p, (*seen, node)) for p in parents[node]), default=-1)
        return depth[node]

    for node in sorted(nodes):
        level(node)
    rows: dict[int, list[str]] = {}
    for node in sorted(nodes):
        rows.setdefault(depth[node], []).append(node)
    mass = {f"lot:{lot}": kg for _, _, lot, kg in flows}
    steps = {f"step:{s.step_id}": s for s in lineage.steps}
    box_w, box_h = col_w - 14, 38.0
    placed: dict[str, Node] = {}
    for row, members in rows.items():
        for col, node in enumerate(members):
            kind, _, ident = node.partition(":")
            step = steps.get(node)
            placed[node] = Node(id=ident, kind="step" if step else "lot", x=6 + col * col_w, y=6 + row * row_h,
                                label=ident, step_kind=step.kind if step else None, mass_kg=mass.get(node),
                                balance_ok=step.balance_ok if step else None,
                                is_self=kind == "lot" and ident == lineage.lot_id)
    lines = [Edge(x1=placed[a].x + box_w / 2, y1=placed[a].y + box_h, x2=placed[b].x + box_w / 2, y2=placed[b].y)
             for a, b in edges]
    return LineageGraph(nodes=list(placed.values()), edges=lines, box_w=box_w, box_h=box_h,
                        width=12 + max(len(m) for m in rows.values()) * col_w, height=12 + (max(rows) + 1) * row_h)

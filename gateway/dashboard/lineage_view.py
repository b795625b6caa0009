"""Geometry of the lot page's lineage SVG (pure: rows in, boxes and edges out)."""

from __future__ import annotations

from typing import Any


def lineage_layout(lineage: dict[str, Any] | None, col_w: float = 190.0, row_h: float = 62.0
                   ) -> dict[str, Any] | None:
    """Rows for a top-down inputs -> steps -> outputs SVG: each node's row is its distance from the source side.

    Top-down because a lot's history is long (intake, 3-4 steps, their side outputs) and narrow: left to right
    it was 1,400 px wide with labels cut; this way it fits a phone once scaled to the page width."""
    if not lineage or not lineage.get("flows"):
        return None
    flows = lineage["flows"]
    edges = [(f"lot:{f['lot_id']}", f"step:{f['step_id']}") if f["direction"] == "in"
             else (f"step:{f['step_id']}", f"lot:{f['lot_id']}") for f in flows]
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
    mass = {f"lot:{f['lot_id']}": f["mass_kg"] for f in flows}
    steps = {f"step:{s['step_id']}": s for s in lineage.get("steps", [])}
    box_w, box_h = col_w - 14, 38.0
    placed: dict[str, dict[str, Any]] = {}
    for row, members in rows.items():
        for col, node in enumerate(members):
            kind, _, ident = node.partition(":")
            step = steps.get(node, {})
            placed[node] = {"id": ident, "kind": kind, "x": 6 + col * col_w, "y": 6 + row * row_h,
                            "label": ident, "step_kind": step.get("kind") if kind == "step" else None,
                            "mass_kg": mass.get(node), "balance_ok": step.get("balance_ok"),
                            "self": kind == "lot" and ident == lineage.get("lot_id")}
    lines = [{"x1": placed[a]["x"] + box_w / 2, "y1": placed[a]["y"] + box_h,
              "x2": placed[b]["x"] + box_w / 2, "y2": placed[b]["y"]} for a, b in edges]
    return {"nodes": list(placed.values()), "edges": lines, "box_w": box_w, "box_h": box_h,
            "width": 12 + max(len(m) for m in rows.values()) * col_w, "height": 12 + (max(rows) + 1) * row_h}

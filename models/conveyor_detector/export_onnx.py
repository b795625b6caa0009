"""Export weights.npz to conveyor_detector.onnx (YOLO-style output), then evaluate it through the agent.

Graph: images [1,3,320,320] -> AveragePool 16 -> Conv 5x5 (MLP layer 1) -> Relu -> two 1x1 heads:
class softmax (background dropped) and box (offsets in cells, size in 64 px units) -> decoded to
centre-x, centre-y, width, height in input pixels -> [1, 4 + C, 400]. The evaluation runs
``edge_agent.vision.detector.OnnxDetector`` (the plug-in the agent uses) on frames rendered with a
seed not used in training and writes metrics.json.
Run: ``.venv/bin/python models/conveyor_detector/export_onnx.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
from edge_agent.vision.conveyor import ConveyorAnalyzer  # noqa: E402
from edge_agent.vision.detector import OnnxDetector, iou  # noqa: E402
from edge_agent.vision.pipeline import detections_to_blobs  # noqa: E402
from simulators.camera.conveyor import ConveyorScene  # noqa: E402

SIZE, STRIDE, K, BOX_SCALE = 320, 16, 5, 64.0
GRID = SIZE // STRIDE


def build(w: dict[str, np.ndarray]) -> onnx.ModelProto:
    hidden = w["w1"].shape[1]
    n_cls = w["w2"].shape[1] - 1
    gx, gy = np.meshgrid((np.arange(GRID) + 0.5) * STRIDE, (np.arange(GRID) + 0.5) * STRIDE)
    offset = np.zeros((1, 4, GRID, GRID), np.float32)
    offset[0, 0], offset[0, 1] = gx, gy
    inits = [
        numpy_helper.from_array(w["w1"].T.reshape(hidden, 3, K, K).astype(np.float32), "W1"),
        numpy_helper.from_array(w["b1"], "B1"),
        numpy_helper.from_array(w["w2"].T.reshape(n_cls + 1, hidden, 1, 1).astype(np.float32), "W2"),
        numpy_helper.from_array(w["b2"], "B2"),
        numpy_helper.from_array(w["wb"].reshape(4, hidden, 1, 1).astype(np.float32), "WB"),
        numpy_helper.from_array(w["bb"], "BB"),
        numpy_helper.from_array(
            np.array([STRIDE, STRIDE, BOX_SCALE, BOX_SCALE], np.float32).reshape(1, 4, 1, 1), "bscale"
        ),
        numpy_helper.from_array(offset, "boffset"),
        numpy_helper.from_array(np.array([1], np.int64), "s_start"),
        numpy_helper.from_array(np.array([n_cls + 1], np.int64), "s_end"),
        numpy_helper.from_array(np.array([1], np.int64), "s_axis"),
        numpy_helper.from_array(np.array([1, 4 + n_cls, GRID * GRID], np.int64), "out_shape"),
    ]
    nodes = [
        helper.make_node(
            "AveragePool", ["images"], ["pooled"], kernel_shape=[STRIDE, STRIDE], strides=[STRIDE, STRIDE]
        ),
        helper.make_node("Conv", ["pooled", "W1", "B1"], ["h0"], kernel_shape=[K, K], pads=[K // 2] * 4),
        helper.make_node("Relu", ["h0"], ["h"]),
        helper.make_node("Conv", ["h", "W2", "B2"], ["logits"], kernel_shape=[1, 1]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
        helper.make_node("Slice", ["probs", "s_start", "s_end", "s_axis"], ["scores"]),
        helper.make_node("Conv", ["h", "WB", "BB"], ["braw"], kernel_shape=[1, 1]),
        helper.make_node("Mul", ["braw", "bscale"], ["bscaled"]),
        helper.make_node("Add", ["bscaled", "boffset"], ["boxes"]),
        helper.make_node("Concat", ["boxes", "scores"], ["grid_out"], axis=1),
        helper.make_node("Reshape", ["grid_out", "out_shape"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "conveyor_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + n_cls, GRID * GRID])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="junkan")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def evaluate(model: Path, labels: Path, n_frames: int = 300, seed: int = 99) -> dict[str, object]:
    """Precision/recall at IoU 0.5 (class must match) and line counts vs truth, on unseen frames."""
    det = OnnxDetector(model, labels, SIZE, score_threshold=0.5, iou_threshold=0.3)
    scene = ConveyorScene(seed=seed, rate_per_s=3.0)
    conv = ConveyorAnalyzer()
    tp = fp = fn = 0
    truth_count = counted = 0
    by_cls_truth: dict[str, int] = {}
    by_cls_got: dict[str, int] = {}
    for frame, truth in scene.frames(n_frames):
        dets = det.detect(frame)
        gts = [o for o in truth["objects"] if o["bbox"][0] >= 0 and o["bbox"][0] + o["bbox"][2] <= frame.shape[1]]
        used: set[int] = set()
        for d in dets:
            best, best_iou = None, 0.5
            for k, o in enumerate(gts):
                x, y, w, h = o["bbox"]
                v = float(iou(np.array(d.box), np.array([[x, y, x + w, y + h]], float))[0])
                if k not in used and o["cls"] == d.cls and v >= best_iou:
                    best, best_iou = k, v
            if best is None:
                fp += 1
            else:
                used.add(best)
                tp += 1
        fn += len(gts) - len(used)
        for c in conv.update(detections_to_blobs(dets, frame), frame.shape[1]):
            counted += 1
            by_cls_got[c.cls or "?"] = by_cls_got.get(c.cls or "?", 0) + 1
        for c in truth["crossed"]:
            truth_count += 1
            by_cls_truth[c["cls"]] = by_cls_truth.get(c["cls"], 0) + 1
    return {
        "frames": n_frames,
        "seed": seed,
        "precision_iou50": round(tp / max(tp + fp, 1), 4),
        "recall_iou50": round(tp / max(tp + fn, 1), 4),
        "line_count_truth": truth_count,
        "line_count_detector": counted,
        "count_by_class_truth": by_cls_truth,
        "count_by_class_detector": by_cls_got,
    }


def main() -> None:
    w = dict(np.load(HERE / "weights.npz"))
    out = HERE / "conveyor_detector.onnx"
    onnx.save(build(w), out)
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    metrics = evaluate(out, HERE / "labels.txt")
    (HERE / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()

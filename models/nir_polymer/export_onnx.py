"""Export weights.npz (from train.py) to nir_polymer.onnx, built by hand with onnx.helper.

Graph: reflectance [N, 8] (raw / the session's white reference) -> Clip [1e-3, 100] -> Log -> features
(one MatMul: log, log - mean(log), neighbouring-LED differences; see train.feature_matrix) -> squared
distances to every training row (|x|^2 - 2 x.T + |T|^2, one MatMul) -> TopK (k nearest) -> one-hot labels
gathered and averaged (votes) ; mean distance of the k neighbours -> gate = Sigmoid(slope * (dist - thr)).
scores = votes * (1 - gate) + gate * e_unknown; label = ArgMax(scores) (the kNN's answer, unchanged);
unanimous = max(votes) >= 0.999; probs = Gather(calibration, 2 * label + unanimous) -> [N, 6] in labels.txt
order (PP, PE, PET, PS, PVC, unknown): the distribution of the true class measured for that label on items the
training kNN had not seen (calibrate.py). Outputs: ``probs`` and ``label`` (int64 [N]); ``probs[label]`` is the
calibrated p, and another class may be more likely than the label (e.g. most rows labelled unknown are PP/PE).
The preprocessing lives in the graph so the agent feeds reflectances and cannot get it wrong.
Run: ``.venv/bin/python models/nir_polymer/export_onnx.py`` (train.py calls ``export`` itself).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
ONNX_NAME = "nir_polymer.onnx"


def build(w: dict[str, np.ndarray]) -> onnx.ModelProto:
    f32 = np.float32
    train = w["train"].astype(f32)
    onehot = w["onehot"].astype(f32)
    n_in, n_out = w["features"].shape[0], onehot.shape[1]
    e_unk = np.zeros((1, n_out), f32)
    e_unk[0, int(w["unknown_idx"])] = 1.0
    inits = [
        numpy_helper.from_array(np.array(1e-3, f32), "r_lo"),
        numpy_helper.from_array(np.array(100.0, f32), "r_hi"),
        numpy_helper.from_array(w["features"].astype(f32), "M"),
        numpy_helper.from_array(train.T.copy(), "Tt"),
        numpy_helper.from_array((train * train).sum(axis=1).astype(f32), "T2"),
        numpy_helper.from_array(np.array(-2.0, f32), "minus2"),
        numpy_helper.from_array(np.array(0.0, f32), "zero"),
        numpy_helper.from_array(np.array(1.0, f32), "one"),
        numpy_helper.from_array(np.array([int(w["k"])], np.int64), "k"),
        numpy_helper.from_array(np.array([1], np.int64), "axes1"),
        numpy_helper.from_array(onehot, "Y"),
        numpy_helper.from_array(np.array(float(w["threshold"]), f32), "thr"),
        numpy_helper.from_array(np.array(float(w["slope"]), f32), "slope"),
        numpy_helper.from_array(e_unk, "e_unk"),
        numpy_helper.from_array(w["calibration"].astype(f32), "CAL"),
        numpy_helper.from_array(np.array(0.999, f32), "unan_min"),
        numpy_helper.from_array(np.array(2, np.int64), "two"),
    ]
    nodes = [
        helper.make_node("Clip", ["reflectance", "r_lo", "r_hi"], ["r"]),
        helper.make_node("Log", ["r"], ["logr"]),
        helper.make_node("MatMul", ["logr", "M"], ["x"]),
        helper.make_node("Mul", ["x", "x"], ["x_sq"]),
        helper.make_node("ReduceSum", ["x_sq", "axes1"], ["x2"], keepdims=1),
        helper.make_node("MatMul", ["x", "Tt"], ["xt"]),
        helper.make_node("Mul", ["xt", "minus2"], ["xt2"]),
        helper.make_node("Add", ["xt2", "x2"], ["dpart"]),
        helper.make_node("Add", ["dpart", "T2"], ["dist2_raw"]),
        helper.make_node("Max", ["dist2_raw", "zero"], ["dist2"]),
        helper.make_node("TopK", ["dist2", "k"], ["nn_d2", "nn_idx"], axis=1, largest=0, sorted=1),
        helper.make_node("Gather", ["Y", "nn_idx"], ["nn_y"], axis=0),
        helper.make_node("ReduceMean", ["nn_y"], ["votes"], axes=[1], keepdims=0),
        helper.make_node("Sqrt", ["nn_d2"], ["nn_d"]),
        helper.make_node("ReduceMean", ["nn_d"], ["dmean"], axes=[1], keepdims=1),
        helper.make_node("Sub", ["dmean", "thr"], ["over"]),
        helper.make_node("Mul", ["over", "slope"], ["over_s"]),
        helper.make_node("Sigmoid", ["over_s"], ["gate"]),
        helper.make_node("Sub", ["one", "gate"], ["keep"]),
        helper.make_node("Mul", ["votes", "keep"], ["kept"]),
        helper.make_node("Mul", ["gate", "e_unk"], ["unk"]),
        helper.make_node("Add", ["kept", "unk"], ["scores"]),
        helper.make_node("ArgMax", ["scores"], ["label"], axis=1, keepdims=0),
        helper.make_node("ReduceMax", ["votes"], ["share"], axes=[1], keepdims=0),
        helper.make_node("GreaterOrEqual", ["share", "unan_min"], ["unan_b"]),
        helper.make_node("Cast", ["unan_b"], ["unan"], to=TensorProto.INT64),
        helper.make_node("Mul", ["label", "two"], ["label2"]),
        helper.make_node("Add", ["label2", "unan"], ["cal_row"]),
        helper.make_node("Gather", ["CAL", "cal_row"], ["probs"], axis=0),
    ]
    graph = helper.make_graph(
        nodes,
        "nir_polymer",
        [helper.make_tensor_value_info("reflectance", TensorProto.FLOAT, ["N", n_in])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", n_out]),
         helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="junkan")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def export(weights: Path, out_dir: Path) -> Path:
    path = out_dir / ONNX_NAME
    onnx.save(build(dict(np.load(weights))), path)
    return path


def main() -> None:
    path = export(HERE / "weights.npz", HERE)
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()

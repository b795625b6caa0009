"""Export weights.npz (from train.py) to nir_polymer_nir256.onnx, built by hand with onnx.helper.

Why by hand: skl2onnx is not a dependency, and the whole preprocessing must live in the graph so the agent
and `junkan agent nir-classify` feed the spectrometer's reflectance (%) as exported and cannot get it wrong.
Graph: reflectance [N, 180] (%) -> Clip [0.5, 300] % (a dead or saturated pixel cannot give inf/NaN) ->
absorbance -log10(R/100) -> Savitzky-Golay 2nd derivative and the 1100-1749 nm window (one constant MatMul)
-> SNV -> PCA (MatMul) -> LDA logits -> Softmax over the trained classes (PP, PET, HDPE, PS, PVC, OTHER),
and in parallel the squared Mahalanobis distance (pooled within-class covariance) to the nearest polymer
class mean. gate = Sigmoid(slope * (d2 - threshold)); probs = [p_polymer * (1 - gate), p_other * (1 - gate)
+ gate] -> [N, 6] in labels.txt order (PP, PET, HDPE, PS, PVC, unknown).
Run: ``.venv/bin/python models/nir_polymer_nir256/export_onnx.py`` (train.py calls ``export`` itself).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
ONNX_NAME = "nir_polymer_nir256.onnx"


def build(w: dict[str, np.ndarray]) -> onnx.ModelProto:
    f32 = np.float32
    n_in = w["deriv"].shape[0]
    n_out = len(w["named_idx"]) + 1
    inits = [
        numpy_helper.from_array(np.array(0.5, f32), "r_lo"),
        numpy_helper.from_array(np.array(300.0, f32), "r_hi"),
        numpy_helper.from_array(np.array(0.01, f32), "pct"),
        numpy_helper.from_array(np.array(-1.0 / np.log(10.0), f32), "neg_inv_ln10"),
        numpy_helper.from_array(np.array(1e-9, f32), "eps"),
        numpy_helper.from_array(np.array(1.0, f32), "one"),
        numpy_helper.from_array(w["deriv"].astype(f32), "D"),
        numpy_helper.from_array(w["pca_mean"].astype(f32), "pca_mean"),
        numpy_helper.from_array(w["pca_comp"].T.astype(f32), "P"),
        numpy_helper.from_array(w["lda_coef"].T.astype(f32), "W"),
        numpy_helper.from_array(w["lda_intercept"].astype(f32), "b"),
        numpy_helper.from_array(w["whiten"].astype(f32), "L"),
        numpy_helper.from_array(w["means_w"].T.astype(f32), "Mt"),
        numpy_helper.from_array((w["means_w"] ** 2).sum(axis=1).astype(f32), "M2"),
        numpy_helper.from_array(np.array(-2.0, f32), "minus2"),
        numpy_helper.from_array(np.array(float(w["threshold"]), f32), "thr"),
        numpy_helper.from_array(np.array(float(w["slope"]), f32), "slope"),
        numpy_helper.from_array(w["named_idx"].astype(np.int64), "named_idx"),
        numpy_helper.from_array(np.array([int(w["other_idx"])], np.int64), "other_idx"),
    ]
    nodes = [
        helper.make_node("Clip", ["reflectance", "r_lo", "r_hi"], ["r"]),
        helper.make_node("Mul", ["r", "pct"], ["frac"]),
        helper.make_node("Log", ["frac"], ["ln"]),
        helper.make_node("Mul", ["ln", "neg_inv_ln10"], ["absorb"]),
        helper.make_node("MatMul", ["absorb", "D"], ["d2spec"]),
        helper.make_node("ReduceMean", ["d2spec"], ["mu"], axes=[1], keepdims=1),
        helper.make_node("Sub", ["d2spec", "mu"], ["cen"]),
        helper.make_node("Mul", ["cen", "cen"], ["sq"]),
        helper.make_node("ReduceMean", ["sq"], ["var"], axes=[1], keepdims=1),
        helper.make_node("Add", ["var", "eps"], ["var_eps"]),
        helper.make_node("Sqrt", ["var_eps"], ["sd"]),
        helper.make_node("Div", ["cen", "sd"], ["snv"]),
        helper.make_node("Sub", ["snv", "pca_mean"], ["snv_c"]),
        helper.make_node("MatMul", ["snv_c", "P"], ["z"]),
        helper.make_node("MatMul", ["z", "W"], ["logits0"]),
        helper.make_node("Add", ["logits0", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["p_all"], axis=1),
        # squared Mahalanobis distance to each polymer class mean: |zL|^2 - 2 zL.m + |m|^2
        helper.make_node("MatMul", ["z", "L"], ["u"]),
        helper.make_node("Mul", ["u", "u"], ["u_sq"]),
        helper.make_node("ReduceSum", ["u_sq", "axes1"], ["u2"], keepdims=1),
        helper.make_node("MatMul", ["u", "Mt"], ["um"]),
        helper.make_node("Mul", ["um", "minus2"], ["um2"]),
        helper.make_node("Add", ["um2", "u2"], ["dpart"]),
        helper.make_node("Add", ["dpart", "M2"], ["dist2"]),
        helper.make_node("ReduceMin", ["dist2"], ["dmin"], axes=[1], keepdims=1),
        helper.make_node("Sub", ["dmin", "thr"], ["over"]),
        helper.make_node("Mul", ["over", "slope"], ["over_s"]),
        helper.make_node("Sigmoid", ["over_s"], ["gate"]),
        helper.make_node("Sub", ["one", "gate"], ["keep"]),
        helper.make_node("Gather", ["p_all", "named_idx"], ["p_named"], axis=1),
        helper.make_node("Gather", ["p_all", "other_idx"], ["p_other"], axis=1),
        helper.make_node("Mul", ["p_named", "keep"], ["q_named"]),
        helper.make_node("Mul", ["p_other", "keep"], ["q_other0"]),
        helper.make_node("Add", ["q_other0", "gate"], ["q_other"]),
        helper.make_node("Concat", ["q_named", "q_other"], ["probs"], axis=1),
    ]
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "axes1"))
    graph = helper.make_graph(
        nodes,
        "nir_polymer_nir256",
        [helper.make_tensor_value_info("reflectance", TensorProto.FLOAT, ["N", n_in])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", n_out])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="junkan")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def export(weights: Path, out_dir: Path) -> Path:
    w = dict(np.load(weights))
    path = out_dir / ONNX_NAME
    onnx.save(build(w), path)
    return path


def main() -> None:
    path = export(HERE / "weights.npz", HERE)
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()

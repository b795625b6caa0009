"""Export weights.npz (from train.py) to nir_polymer.onnx, built by hand with onnx.helper.

Graph: reflectance [N, 8] -> Log(max(x, 1e-3)) -> SNV (subtract row mean, divide by row RMS) -> MatMul
-> Add -> Softmax -> probs [N, 9]. The preprocessing lives in the graph so the agent feeds raw
reflectances and cannot get it wrong. Run: ``.venv/bin/python models/nir_polymer/export_onnx.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent


def build(coef: np.ndarray, intercept: np.ndarray) -> onnx.ModelProto:
    n_in = coef.shape[1]
    n_out = coef.shape[0]
    inits = [
        numpy_helper.from_array(np.array(1e-3, np.float32), "eps_clip"),
        numpy_helper.from_array(np.array(1e-6, np.float32), "eps_div"),
        numpy_helper.from_array(coef.T.astype(np.float32), "W"),
        numpy_helper.from_array(intercept.astype(np.float32), "b"),
    ]
    nodes = [
        helper.make_node("Max", ["reflectance", "eps_clip"], ["clipped"]),
        helper.make_node("Log", ["clipped"], ["logr"]),
        helper.make_node("ReduceMean", ["logr"], ["mu"], axes=[1], keepdims=1),
        helper.make_node("Sub", ["logr", "mu"], ["centred"]),
        helper.make_node("Mul", ["centred", "centred"], ["sq"]),
        helper.make_node("ReduceMean", ["sq"], ["msq"], axes=[1], keepdims=1),
        helper.make_node("Sqrt", ["msq"], ["rms"]),
        helper.make_node("Add", ["rms", "eps_div"], ["rms_eps"]),
        helper.make_node("Div", ["centred", "rms_eps"], ["snv"]),
        helper.make_node("MatMul", ["snv", "W"], ["logits0"]),
        helper.make_node("Add", ["logits0", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "nir_polymer",
        [helper.make_tensor_value_info("reflectance", TensorProto.FLOAT, ["N", n_in])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", n_out])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="junkan")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main() -> None:
    w = np.load(HERE / "weights.npz")
    model = build(w["coef"], w["intercept"])
    onnx.save(model, HERE / "nir_polymer.onnx")
    print(f"wrote {HERE / 'nir_polymer.onnx'} ({(HERE / 'nir_polymer.onnx').stat().st_size} bytes)")


if __name__ == "__main__":
    main()

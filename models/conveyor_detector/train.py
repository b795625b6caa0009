"""Train the tiny conveyor detector on frames rendered by the camera simulator (CPU, ~1-2 minutes).

Honest description: this is not a CNN trained end to end. Each 16x16 cell of the 320x320 letterboxed
input is average-pooled to one RGB value; a 5x5 neighbourhood of those cells (75 numbers, 80 px of
context) feeds a one-hidden-layer MLP (sklearn) that predicts the cell's class (background or object
class), and a ridge regression on the same hidden layer predicts the box. export_onnx.py writes that as
AveragePool -> Conv5x5 -> Relu -> Conv1x1 heads, with a YOLO-style ``[1, 4 + C, 400]`` output, so the
agent's generic ONNX plug-in (letterbox, decode, NMS) runs it like any YOLO model.
Run: ``.venv/bin/python models/conveyor_detector/train.py``; writes weights.npz and metrics.json.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.neural_network import MLPClassifier

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
from edge_agent.vision.detector import letterbox, to_tensor  # noqa: E402
from simulators.camera.conveyor import CLASSES, ConveyorScene  # noqa: E402

SIZE, STRIDE, K, HIDDEN = 320, 16, 5, 32
GRID = SIZE // STRIDE
BOX_SCALE = 64.0


def pooled(frame: np.ndarray) -> tuple[np.ndarray, float, tuple[int, int]]:
    img, scale, pad = letterbox(frame, SIZE)
    t = to_tensor(img)[0]  # 3 x 320 x 320
    return t.reshape(3, GRID, STRIDE, GRID, STRIDE).mean(axis=(2, 4)), scale, pad


def patches(p: np.ndarray) -> np.ndarray:
    """(GRID*GRID, 3*K*K) neighbourhoods in (channel, ky, kx) order, zero padded: matches Conv weights."""
    r = K // 2
    padded = np.pad(p, ((0, 0), (r, r), (r, r)))
    out = np.empty((GRID, GRID, 3, K, K), np.float32)
    for ky in range(K):
        for kx in range(K):
            out[:, :, :, ky, kx] = padded[:, ky : ky + GRID, kx : kx + GRID].transpose(1, 2, 0)
    return out.reshape(GRID * GRID, -1)


def targets(truth: dict, scale: float, pad: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Class per cell (0 = background) and box targets for cells near an object's centre."""
    cls = np.zeros(GRID * GRID, np.int64)
    box = np.zeros((GRID * GRID, 4), np.float32)
    for o in truth["objects"]:
        x, y, w, h = o["bbox"]
        cx, cy = (x + w / 2) * scale + pad[0], (y + h / 2) * scale + pad[1]
        bw, bh = w * scale, h * scale
        if not (0 <= cx < SIZE and 0 <= cy < SIZE):
            continue
        for gy in range(GRID):
            for gx in range(GRID):
                ccx, ccy = (gx + 0.5) * STRIDE, (gy + 0.5) * STRIDE
                if abs(ccx - cx) <= max(bw * 0.25, STRIDE / 2) and abs(ccy - cy) <= max(bh * 0.25, STRIDE / 2):
                    i = gy * GRID + gx
                    cls[i] = CLASSES.index(o["cls"]) + 1
                    box[i] = [(cx - ccx) / STRIDE, (cy - ccy) / STRIDE, bw / BOX_SCALE, bh / BOX_SCALE]
    return cls, box


def dataset(n_frames: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scene = ConveyorScene(seed=seed, rate_per_s=4.0)
    xs, cs, bs = [], [], []
    for i, (frame, truth) in enumerate(scene.frames(n_frames + 30)):
        if i < 30:  # let the belt fill up
            continue
        p, scale, pad = pooled(frame)
        c, b = targets(truth, scale, pad)
        xs.append(patches(p))
        cs.append(c)
        bs.append(b)
    return np.vstack(xs), np.concatenate(cs), np.vstack(bs)


def main() -> None:
    t0 = time.time()
    x, c, b = dataset(400, seed=11)
    rng = np.random.default_rng(0)
    pos = np.flatnonzero(c > 0)
    neg = rng.choice(np.flatnonzero(c == 0), size=min(len(pos) * 3, int((c == 0).sum())), replace=False)
    idx = np.concatenate([pos, neg])
    clf = MLPClassifier((HIDDEN,), max_iter=600, random_state=0, alpha=1e-4, learning_rate_init=3e-3)
    clf.fit(x[idx], c[idx])
    hidden = np.maximum(x[pos] @ clf.coefs_[0] + clf.intercepts_[0], 0)
    reg = Ridge(alpha=1.0).fit(hidden, b[pos])
    np.savez(
        HERE / "weights.npz",
        w1=clf.coefs_[0].astype(np.float32),
        b1=clf.intercepts_[0].astype(np.float32),
        w2=clf.coefs_[1].astype(np.float32),
        b2=clf.intercepts_[1].astype(np.float32),
        wb=reg.coef_.astype(np.float32),
        bb=reg.intercept_.astype(np.float32),
    )
    (HERE / "labels.txt").write_text("\n".join(CLASSES) + "\n", encoding="utf-8")
    info = {
        "train_frames": 400,
        "train_cells_used": len(idx),
        "positive_cells": len(pos),
        "cell_accuracy_train": round(float(clf.score(x[idx], c[idx])), 4),
        "train_seconds": round(time.time() - t0, 1),
    }
    print(json.dumps(info))
    (HERE / "train_info.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""NIR polymer identification: reflectance lines from an LED/NIR sensor -> polymer via an ONNX classifier.

The sensor (e.g. the 8-LED Plastic Scanner board, or a spectrometer behind a small bridge) sends one
line per object on serial or TCP: ``r1,r2,...,rN`` or ``<object id>,r1,...,rN`` (reflectances, or raw
counts when ``white_reference`` is set). The classifier (``models/nir_polymer``) is checked against the
configured wavelengths at start. Near-zero, flat reflectance is reported as dark: carbon-black plastics
are NIR-blind and must not be guessed. The model's card (``model.json`` beside the ``.onnx``) says whether it
is fit for sorting; every classified reading carries that as ``model_fit_for_sorting`` (false when there is
no card), so the lot measurement can flag composition from an unfit model instead of trusting it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from edge_agent.drivers.base import BadFrame, Decoded, DeviceConfigBase, DeviceReading
from edge_agent.drivers.lines import LineDecoder
from edge_agent.drivers.serial_port import SerialPortConfig, SerialRunner

_REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = _REPO / "models" / "nir_polymer" / "nir_polymer.onnx"
DEFAULT_LABELS = _REPO / "models" / "nir_polymer" / "labels.txt"


def model_card(path: Path) -> dict[str, Any] | None:
    """``model.json`` (path to it, or to the ``.onnx`` beside it) as a dict; None when there is none."""
    card = path if path.suffix == ".json" else path.parent / "model.json"
    if not card.exists():
        return None
    data = json.loads(card.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("model.json is not an object")
    return data


class NirSpectrometerConfig(DeviceConfigBase):
    """A NIR sensor streaming one reflectance vector per object."""

    type: Literal["nir_spectrometer"] = Field(description="Driver key.")
    port: SerialPortConfig = Field(description="Serial/TCP connection (socket://host:port for bridges).")
    model: str = Field(default=str(DEFAULT_MODEL), description="Polymer classifier (.onnx, [N, channels] in).")
    labels: str = Field(default=str(DEFAULT_LABELS), description="Class names, one per line, in output order.")
    wavelengths_nm: list[float] = Field(
        default=[940, 1050, 1200, 1300, 1450, 1550, 1650, 1720],
        min_length=2,
        description="Channel wavelengths in line order; their count must match the model input.",
    )
    white_reference: list[float] | None = Field(
        default=None, description="Raw white-tile (Spectralon) reading per channel; raw values are divided by it."
    )
    dark_reflectance_max: float = Field(
        default=0.05, ge=0, description="Mean reflectance at or below this: dark object, no polymer claimed."
    )
    min_confidence: float = Field(default=0.5, ge=0, le=1, description="Below this the reading is 'unstable'.")
    max_line_bytes: int | None = Field(
        default=None, ge=64, description="Longest accepted line; default 16 bytes per wavelength + 64 (a 180-pixel "
                                         "spectrometer line is ~1.7 KB, far over the 256 of the scale protocols).")


class PolymerClassifier:
    """The ONNX session plus labels; fails at construction when model and config disagree.

    A model with a second output named ``label`` (int64 [N], e.g. models/nir_polymer) says its answer itself and
    its ``probs`` are calibrated (the true class's distribution given that answer, which another class may top);
    otherwise the answer is the argmax of ``probs``. Either way the reported confidence is ``probs[answer]``.
    """

    def __init__(self, model: Path, labels: Path, channels: int) -> None:
        from edge_agent.vision.detector import ModelError, load_session, read_labels

        self.labels = read_labels(labels)
        self.session = load_session(model)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        names = [o.name for o in self.session.get_outputs()]
        self.label_output = names.index("label") if "label" in names[1:] else None
        if len(inp.shape) != 2 or (isinstance(inp.shape[1], int) and inp.shape[1] != channels):
            raise ModelError(f"model {model} expects input {inp.shape}, config has {channels} wavelengths")
        n_out = self.session.get_outputs()[0].shape[-1]
        if isinstance(n_out, int) and n_out != len(self.labels):
            raise ModelError(f"model {model} has {n_out} outputs but {labels} lists {len(self.labels)} classes")
        self.classify(np.full((1, channels), 0.5, np.float32))  # warm-up

    def classify(self, refl: np.ndarray) -> np.ndarray:
        return self.predict(refl)[1]

    def predict(self, refl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(answer index [N], class probabilities [N, n_labels]) per row."""
        out = self.session.run(None, {self.input_name: refl.astype(np.float32)})
        probs = np.asarray(out[0])
        best = np.asarray(out[self.label_output]) if self.label_output is not None else probs.argmax(axis=1)
        return best.astype(int), probs


def parse_values(text: str, channels: int) -> tuple[str | None, np.ndarray] | None:
    """``r1,...,rN`` or ``id,r1,...,rN`` (comma, semicolon or whitespace separated) -> (id, values)."""
    parts = [p for p in text.replace(";", ",").replace("\t", ",").replace(" ", ",").split(",") if p]
    obj_id = None
    if len(parts) == channels + 1:
        obj_id, parts = parts[0], parts[1:]
    if len(parts) != channels:
        return None
    try:
        return obj_id, np.array([float(p) for p in parts])
    except ValueError:
        return None


def reading_from(
    values: np.ndarray, obj_id: str | None, clf: PolymerClassifier, config: NirSpectrometerConfig, raw: bytes,
    fit_for_sorting: bool = False,
) -> DeviceReading:
    """One object's reflectance -> ``nir_object`` reading (polymer, confidence, all class probabilities)."""
    refl = values / np.array(config.white_reference) if config.white_reference else values
    data: dict[str, Any] = {}
    if obj_id is not None:
        data["object_id"] = obj_id
    if float(refl.mean()) <= config.dark_reflectance_max:
        data.update(polymer="dark", confidence=1.0, probs={}, dark=True)
        return DeviceReading(kind="nir_object", status="ok", data=data, raw=raw)
    idx, all_probs = clf.predict(refl[None])
    best, probs = int(idx[0]), all_probs[0]
    conf = float(probs[best])
    data.update(
        polymer=clf.labels[best],
        confidence=round(conf, 4),
        probs={label: round(float(p), 4) for label, p in zip(clf.labels, probs, strict=True)},
        dark=False,
        model_fit_for_sorting=fit_for_sorting,
    )
    return DeviceReading(
        kind="nir_object", status="ok" if conf >= config.min_confidence else "unstable", data=data, raw=raw
    )


def default_config() -> NirSpectrometerConfig:
    return NirSpectrometerConfig(name="nir", type="nir_spectrometer", port=SerialPortConfig(url="loop://"))


def decoder(config: NirSpectrometerConfig | None = None) -> LineDecoder:
    cfg = config or default_config()
    if cfg.white_reference is not None and len(cfg.white_reference) != len(cfg.wavelengths_nm):
        raise ValueError("white_reference needs one value per wavelength")
    clf = PolymerClassifier(Path(cfg.model), Path(cfg.labels), len(cfg.wavelengths_nm))
    card = model_card(Path(cfg.model))
    fit = bool(card.get("fit_for_sorting", False)) if card else False

    def parse_line(text: str, raw: bytes) -> Decoded | None:
        parsed = parse_values(text, len(cfg.wavelengths_nm))
        if parsed is None:
            return BadFrame(f"expected {len(cfg.wavelengths_nm)} numbers (optionally after an id)", raw)
        obj_id, values = parsed
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            return BadFrame("negative or non-finite reflectance", raw)
        return reading_from(values, obj_id, clf, cfg, raw, fit)

    return LineDecoder(parse_line, max_line=cfg.max_line_bytes or 16 * len(cfg.wavelengths_nm) + 64)


def runner(config: NirSpectrometerConfig, capture_path: Path | None = None) -> SerialRunner:
    decoder(config)  # load the model now: a bad model or shape fails at start, not per line
    return SerialRunner(config.port, decoder_factory=lambda: decoder(config), capture_path=capture_path)

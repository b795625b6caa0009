"""XRF result CSV (not spectra) from handheld analysers: one parser for Evident Vanta and Thermo Niton.

* Vanta: optional first line ``sep=,``; header ``Instrument Serial Num,Reading #,Date,Time,...,
  Units,`` then per element ``<El> Compound,<El> Compound Level,<El> Compound Error,<El> Concentration,
  <El> Error 1s``. Errors are 1 sigma.
* Niton (NDT export): ``Index,Reading No,Time,Type,Duration,Units,Sigma Value,...,Pb,Pb Error,...``;
  ``Sigma Value`` is the multiplier the errors were reported at (typically 2).

Each element keeps value (ppm), error (ppm), sigma multiplier and a below-LOD flag separately. A
non-detect is censored, never a measured zero: ``<LOD``, ``ND``, ``BDL``, ``<12`` and a reported ``0`` (Vanta
prints a non-detect as ``0`` with its error, e.g. ``Cd 0, ±265``) all give ``ppm`` null, ``below_lod`` true,
``lod_ppm`` = the stated limit (``<12``) or 3 sigma from the error (error / sigma multiplier x 3; null without
one) and ``reported`` = what the instrument printed. ``%`` becomes ppm (1 % = 10 000 ppm).

The instrument's own clock and test label stay on the reading: ``ts`` is the analyser's date and time
(``Date`` + ``Time`` on a Vanta, ``Time`` on a Niton; read with ``time_format`` in ``instrument_tz``), also
as ``instrument_time``; ``test_label`` is the operator's label (``Test Label``, or a ``Sample`` column).
The parser is streaming (bytes in, readings out) so the folder watcher, a serial/TCP line stream and
``junkan agent decode`` share it; a row that is short, has an unreadable value or arrives before any
header is a bad frame with the reason, never an exception.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, model_validator

from edge_agent.drivers.base import BadFrame, Decoded, Decoder, DeviceConfigBase, DeviceReading, Runner
from edge_agent.drivers.folder_watch import FolderRunner, FolderWatchConfig
from edge_agent.drivers.serial_port import SerialPortConfig, SerialRunner
from edge_agent.drivers.units import parse_number

Flavor = Literal["auto", "vanta", "niton"]
MAX_LINE = 64 * 1024
_SYMBOL = re.compile(r"^[A-Z][a-z]?$")
_PPM_FACTOR = {"ppm": 1.0, "mg/kg": 1.0, "%": 10_000.0, "wt%": 10_000.0, "ppb": 1e-3}
_LOD_WORDS = ("<", "nd", "n.d.", "bdl", "lod")
LOD_SIGMAS = 3.0  # a limit of detection of 3 sigma, when the export gives only the error
TIME_FORMATS = {"vanta": ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"), "niton": ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")}
_LABEL_COLUMNS = ("test label", "sample", "sample name", "sample id", "label")


class XrfConfigBase(DeviceConfigBase):
    """An XRF analyser's result export: a watched folder of CSV files, or a line stream on serial/TCP."""

    folder: FolderWatchConfig | None = Field(default=None, description="Watch this export folder for CSV files.")
    port: SerialPortConfig | None = Field(
        default=None, description="Or read the same CSV lines as a stream (serial port or socket://host:port)."
    )
    default_sigma: float = Field(default=1.0, gt=0, description="Sigma multiplier when the export does not say.")
    instrument_tz: str = Field(
        default="UTC", description="Time zone the analyser's clock is set to (IANA name, e.g. Asia/Tokyo).")
    time_format: str | None = Field(
        default=None, description="strptime format of the analyser's date and time (Vanta: Date + ' ' + Time); "
        "default %Y-%m-%d %H:%M[:%S] for Vanta, %d/%m/%Y %H:%M[:%S] for Niton.")

    @model_validator(mode="after")
    def _known_tz(self) -> XrfConfigBase:
        try:
            ZoneInfo(self.instrument_tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"instrument_tz {self.instrument_tz!r} is not a known time zone") from exc
        return self

    @model_validator(mode="after")
    def _one_source(self) -> XrfConfigBase:
        if (self.folder is None) == (self.port is None):
            raise ValueError("set exactly one of 'folder' (file export) or 'port' (line stream)")
        return self


@dataclass(frozen=True)
class Layout:
    """Where things are in a header: column indexes, found by name."""

    flavor: str
    n_columns: int
    reading_col: int | None
    units_col: int | None
    sigma_col: int | None
    elements: dict[str, tuple[int, int | None]]  # symbol -> (value column, error column)
    sigma: float
    date_col: int | None = None
    time_col: int | None = None
    label_col: int | None = None


def parse_header(cells: list[str], flavor: Flavor = "auto", default_sigma: float = 1.0) -> Layout | None:
    """A header row -> Layout, or None when the row is not a header."""
    names = [c.strip() for c in cells]
    lower = [n.lower() for n in names]
    reading_col = next((i for i, n in enumerate(lower) if n in ("reading #", "reading no", "reading")), None)
    if reading_col is None:
        return None
    index = {n: i for i, n in enumerate(names)}
    vanta = any(n.endswith(" Concentration") for n in names)
    kind = flavor if flavor != "auto" else ("vanta" if vanta else "niton")
    elements: dict[str, tuple[int, int | None]] = {}
    if kind == "vanta":
        for name, i in index.items():
            if name.endswith(" Concentration") and _SYMBOL.match(name.split()[0]):
                symbol = name.split()[0]
                elements[symbol] = (i, index.get(f"{symbol} Error 1s", index.get(f"{symbol} Error")))
        sigma = 1.0
    else:
        for name, i in index.items():
            if _SYMBOL.match(name):
                elements[name] = (i, index.get(f"{name} Error", index.get(f"{name} +/-")))
        sigma = default_sigma
    units_col = next((i for i, n in enumerate(lower) if n == "units"), None)
    sigma_col = next((i for i, n in enumerate(lower) if n in ("sigma value", "sigma")), None)
    date_col = next((i for i, n in enumerate(lower) if n == "date"), None)
    time_col = next((i for i, n in enumerate(lower) if n == "time"), None)
    label_col = next((lower.index(n) for n in _LABEL_COLUMNS if n in lower), None)
    return Layout(kind, len(names), reading_col, units_col, sigma_col, elements, sigma, date_col, time_col, label_col)


def _cell_value(text: str) -> tuple[float | None, bool] | None:
    """(number, below_lod) for a result cell; None when unreadable. For ``<12`` the number is the limit."""
    t = text.strip()
    if any(t.lower().startswith(w) for w in _LOD_WORDS):
        limit = parse_number(t[1:]) if t.startswith("<") else None
        return (limit if limit is not None and limit > 0 else None), True
    number = parse_number(t)
    return None if number is None else (number, False)


def _element(vtext: str, value: tuple[float | None, bool], err: float | None, sigma: float,
             factor: float) -> dict[str, Any]:
    """One element's result; a non-detect (flagged, or a reported 0) is censored at its LOD."""
    number, below = value
    error = None if err is None else round(err * factor, 6)
    if not below and number != 0:
        return {"ppm": round(number * factor, 6) if number is not None else None, "error": error,
                "sigma": sigma, "below_lod": False}
    if below and number is not None:  # "<12": the limit itself
        lod: float | None = round(number * factor, 6)
    else:  # "<LOD", "ND", a printed 0: 3 sigma from the error, when there is one
        lod = round(LOD_SIGMAS * error / sigma, 6) if error else None
    return {"ppm": None, "error": error, "sigma": sigma, "below_lod": True, "lod_ppm": lod, "reported": vtext}


def _instrument_time(layout: Layout, cells: list[str], fmt: str | None, tz: str) -> datetime | None:
    """The analyser's own date and time of the reading (UTC), None when absent or unreadable."""
    parts = [cells[c].strip() for c in (layout.date_col, layout.time_col) if c is not None and c < len(cells)]
    text = " ".join(p for p in parts if p)
    if not text:
        return None
    for candidate in (fmt,) if fmt else TIME_FORMATS.get(layout.flavor, TIME_FORMATS["vanta"]):
        try:
            local = datetime.strptime(text, candidate)
        except ValueError:
            continue
        return local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    return None


def parse_row(layout: Layout, cells: list[str], raw: bytes, time_format: str | None = None,
              instrument_tz: str = "UTC") -> Decoded:
    """One data row -> an ``xrf`` reading (or ``info`` for a row without results) or a bad frame."""
    needed = max([layout.reading_col or 0, layout.units_col or 0, layout.sigma_col or 0,
                  *(v for v, _ in layout.elements.values()),
                  *(e for _, e in layout.elements.values() if e is not None)])
    if len(cells) <= needed:
        return BadFrame(f"short row: {len(cells)} cells, header has {layout.n_columns} (cut line?)", raw)
    units = cells[layout.units_col].strip().lower() if layout.units_col is not None else "ppm"
    factor = _PPM_FACTOR.get(units or "ppm")
    if factor is None:
        return BadFrame(f"unknown concentration unit {units!r}", raw)
    sigma = layout.sigma
    if layout.sigma_col is not None and cells[layout.sigma_col].strip():
        parsed = parse_number(cells[layout.sigma_col])
        if parsed is None or parsed <= 0:
            return BadFrame(f"unreadable sigma value {cells[layout.sigma_col]!r}", raw)
        sigma = parsed
    elements: dict[str, dict[str, Any]] = {}
    for symbol, (vcol, ecol) in layout.elements.items():
        vtext, etext = cells[vcol].strip(), cells[ecol].strip() if ecol is not None else ""
        if not vtext and not etext:
            continue  # not measured by this method
        value = _cell_value(vtext) if vtext else (None, False)
        if value is None:
            return BadFrame(f"unreadable {symbol} value {vtext!r}", raw)
        err = _cell_value(etext) if etext else (None, False)
        if err is None:
            return BadFrame(f"unreadable {symbol} error {etext!r}", raw)
        elements[symbol] = _element(vtext, value, err[0], sigma, factor)
    reading_text = cells[layout.reading_col].strip() if layout.reading_col is not None else ""
    reading_no: int | str = int(reading_text) if reading_text.isdigit() else reading_text
    if not elements:
        return DeviceReading(kind="info", data={"reading_no": reading_no, "note": "row without results"}, raw=raw)
    data: dict[str, Any] = {"reading_no": reading_no, "elements": elements}
    ts = _instrument_time(layout, cells, time_format, instrument_tz)
    if ts is not None:
        data["instrument_time"] = ts.isoformat()
    elif text := " ".join(cells[c].strip() for c in (layout.date_col, layout.time_col) if c is not None).strip():
        data["instrument_time_text"] = text  # kept as printed; the reading takes the agent's time
    label = cells[layout.label_col].strip() if layout.label_col is not None else ""
    if label:
        data["test_label"] = label
    return DeviceReading(kind="xrf", data=data, ts=ts, raw=raw)


class XrfCsvDecoder:
    """Streaming: lines in (any chunking), readings out. Remembers the delimiter and the last header."""

    def __init__(self, flavor: Flavor = "auto", default_sigma: float = 1.0, time_format: str | None = None,
                 instrument_tz: str = "UTC") -> None:
        self.flavor, self.default_sigma = flavor, default_sigma
        self.time_format, self.instrument_tz = time_format, instrument_tz
        self.delimiter = ","
        self.layout: Layout | None = None
        self._buf = bytearray()
        self._discarding = False

    def feed(self, chunk: bytes) -> list[Decoded]:
        self._buf.extend(chunk)
        out: list[Decoded] = []
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) > MAX_LINE:
                    out.append(BadFrame("line too long", bytes(self._buf[:64])))
                    self._buf.clear()
                    self._discarding = True
                return out
            raw = bytes(self._buf[:nl]).rstrip(b"\r")
            del self._buf[: nl + 1]
            if self._discarding:
                self._discarding = False
                continue
            try:
                result = self._line(raw)
            except Exception as exc:  # a parser bug is a bad frame, never an escaped exception
                result = BadFrame(f"parser error: {exc!r}", raw[:256])
            if result is not None:
                out.append(result)

    def _line(self, raw: bytes) -> Decoded | None:
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip().strip(b",;\t"):
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        if "\x00" in text:
            return BadFrame("NUL bytes in line", raw[:256])
        if text.lower().startswith("sep=") and len(text.strip()) <= 5:
            self.delimiter = text.strip()[4:] or ","
            return None
        cells = next(csv.reader([text], delimiter=self.delimiter))
        header = parse_header(cells, self.flavor, self.default_sigma)
        if header is not None:
            if not header.elements:
                return BadFrame("header without element columns", raw[:256])
            self.layout = header
            return None
        if self.layout is None:
            return BadFrame("data row before any header", raw[:256])
        return parse_row(self.layout, cells, raw, self.time_format, self.instrument_tz)


def vendor_decoder(flavor: Flavor, config: XrfConfigBase | None, config_type: type[XrfConfigBase]) -> XrfCsvDecoder:
    """A vendor module's decoder: its config's settings or, with none (``junkan agent decode``, golden cases),
    that config's own default sigma, so the offline default cannot drift from the documented one."""
    if config is None:
        return XrfCsvDecoder(flavor, config_type.model_fields["default_sigma"].default)
    return XrfCsvDecoder(flavor, config.default_sigma, config.time_format, config.instrument_tz)


def xrf_runner(config: XrfConfigBase, decoder_factory: Callable[[], Decoder],
               capture_path: Path | None) -> Runner:
    """A folder watcher or a line-stream runner, whichever source the config names."""
    if config.folder is not None:
        return FolderRunner(config.folder, decoder_factory, config.name, capture_path)
    assert config.port is not None
    last: list[Decoder] = []

    def keep_header() -> Decoder:
        """A new decoder per connection that remembers the last header: analysers send it once."""
        fresh = decoder_factory()
        if last and isinstance(fresh, XrfCsvDecoder) and isinstance(last[0], XrfCsvDecoder):
            fresh.layout, fresh.delimiter = last[0].layout, last[0].delimiter
        last[:] = [fresh]
        return fresh

    return SerialRunner(config.port, decoder_factory=keep_header, capture_path=capture_path)

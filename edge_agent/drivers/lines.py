"""Shared framing for line-oriented ASCII protocols (MT-SICS, A&D, SBI, Ohaus ...)."""

from __future__ import annotations

from collections.abc import Callable

from edge_agent.drivers.base import BadFrame, Decoded

MAX_LINE = 256


class LineDecoder:
    """Splits a byte stream on LF (CR stripped) and hands each complete line to ``parse_line``.

    Non-ASCII bytes (wrong baud rate or parity noise), over-long lines and lines the protocol parser
    rejects become BadFrames; a partial line waits for the rest. ``mask_parity`` strips bit 7 for
    7-bit links read as 8-bit.
    """

    def __init__(self, parse_line: Callable[[str, bytes], Decoded | None], mask_parity: bool = False,
                 max_line: int = MAX_LINE) -> None:
        self._parse_line = parse_line
        self._max_line = max_line
        self._mask = mask_parity
        self._buf = bytearray()
        self._discarding = False

    def feed(self, chunk: bytes) -> list[Decoded]:
        if self._mask:
            chunk = bytes(b & 0x7F for b in chunk)
        out: list[Decoded] = []
        self._buf.extend(chunk)
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) > self._max_line:
                    out.append(BadFrame("line too long", bytes(self._buf[: self._max_line])))
                    self._buf.clear()
                    self._discarding = True
                return out
            raw = bytes(self._buf[:nl])
            del self._buf[: nl + 1]
            if self._discarding:  # tail of an over-long line
                self._discarding = False
                continue
            result = self._line(raw.rstrip(b"\r"))
            if result is not None:
                out.append(result)

    def _line(self, raw: bytes) -> Decoded | None:
        if not raw.strip():
            return None
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            return BadFrame("non-ASCII bytes (baud rate or parity mismatch?)", raw)
        if any(ord(c) < 0x20 and c != "\t" for c in text):
            return BadFrame("control characters in line", raw)
        try:
            return self._parse_line(text, raw)
        except Exception as exc:  # a parser bug is a bad frame, never an escaped exception
            return BadFrame(f"parser error: {exc!r}", raw)


class JsonLines:
    """Splits a byte stream of JSON lines (the capture/dump files network drivers replay offline) and hands
    each complete line to ``parse``; a parser bug or an over-long line becomes a BadFrame, never an
    exception out of the read loop."""

    def __init__(self, parse: Callable[[bytes], list[Decoded]], what: str, max_line: int = 1 << 20) -> None:
        self._parse, self._what, self._max_line = parse, what, max_line
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> list[Decoded]:
        self._buf.extend(chunk)
        out: list[Decoded] = []
        while (nl := self._buf.find(b"\n")) >= 0:
            raw = bytes(self._buf[:nl]).strip()
            del self._buf[: nl + 1]
            if not raw:
                continue
            try:
                out += self._parse(raw)
            except Exception as exc:  # never raise out of a read loop
                out.append(BadFrame(f"{self._what}: parser error: {exc!r}", raw[:256]))
        if len(self._buf) > self._max_line:
            out.append(BadFrame(f"{self._what} line too long", bytes(self._buf[:64])))
            self._buf.clear()
        return out


class RecordLines:
    """Decoder of a JSON-lines dump (the offline form of a polled device: register dumps, OPC UA samples)
    in which each line gives at most one reading; a subclass says what a line means (``record``)."""

    def __init__(self, what: str = "dump") -> None:
        self._lines = JsonLines(lambda raw: [d] if (d := self.record(raw)) is not None else [], what)

    def feed(self, chunk: bytes) -> list[Decoded]:
        return self._lines.feed(chunk)

    def record(self, raw: bytes) -> Decoded | None:
        raise NotImplementedError

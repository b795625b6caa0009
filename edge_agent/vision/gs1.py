"""GS1 element strings and GS1 Digital Link URIs -> application identifiers (pure functions).

Nameplates and labels carry the same data in three spellings: bracketed HRI ``(01)0952…(21)SN1``,
raw element strings with FNC1/GS (``\\x1d``) separators (what a scanner emits in plain mode), and
Digital Link URIs ``https://resolver/01/<GTIN>/21/<serial>?8013=<model>``. All three end up as one
``{AI: value}`` dict so downstream code never cares how the code was printed.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

GS = "\x1d"

# AIs whose value has a fixed length (value digits, without the AI); all others are variable length
# and end at a GS separator or at the end of the string.
_FIXED_VALUE_LEN: dict[str, int] = {
    "00": 18,
    "01": 14,
    "02": 14,
    "03": 14,
    "04": 16,
    "11": 6,
    "12": 6,
    "13": 6,
    "15": 6,
    "16": 6,
    "17": 6,
    "20": 2,
    "410": 13,
    "411": 13,
    "412": 13,
    "413": 13,
    "414": 13,
    "415": 13,
    "416": 13,
    "417": 13,
    "422": 3,
    "7003": 10,
    "8006": 18,
    "8017": 18,
    "8018": 18,
}
# 310n..369n measures: 4-digit AI, 6-digit value.
_MEASURE = re.compile(r"^3[1-6]\d\d$")

NAMES: dict[str, str] = {
    "00": "sscc",
    "01": "gtin",
    "02": "content_gtin",
    "10": "batch",
    "11": "production_date",
    "13": "packaging_date",
    "15": "best_before",
    "17": "expiry",
    "21": "serial",
    "22": "variant",
    "235": "tpx",
    "240": "additional_id",
    "241": "customer_part",
    "250": "secondary_serial",
    "30": "count",
    "400": "order_number",
    "414": "gln",
    "8004": "giai",
    "8006": "itip",
    "8013": "model",
    "8020": "payment_ref",
    "7003": "expiry_time",
}

# Digital Link path keys: the primary identifiers and their qualifiers, plus legacy short names.
_DL_ALIASES = {"gtin": "01", "lot": "10", "batch": "10", "ser": "21", "cpv": "22", "sscc": "00", "gln": "414"}
_DL_PRIMARY = {
    "00",
    "01",
    "253",
    "255",
    "401",
    "402",
    "414",
    "417",
    "8003",
    "8004",
    "8006",
    "8010",
    "8013",
    "8017",
    "8018",
}
_AI_RE = re.compile(r"\((\d{2,4})\)")


class GS1Error(ValueError):
    """Text that claims to be GS1 but cannot be split into valid AIs."""


def ai_length(prefix: str) -> int:
    """Length of the AI that starts ``prefix`` (GS1 General Specifications, AI table by first digits)."""
    two = prefix[:2]
    if two in {"23", "24", "25", "40", "41", "42", "43"}:
        return 3
    if two in {"31", "32", "33", "34", "35", "36", "39", "70", "71", "72", "80", "81", "82"}:
        return 4
    return 2


def _fixed_len(ai: str) -> int | None:
    if _MEASURE.match(ai):
        return 6
    return _FIXED_VALUE_LEN.get(ai)


def gtin_check_digit_ok(gtin: str) -> bool:
    """Mod-10 check digit of a GTIN-8/12/13/14 (or SSCC)."""
    if not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14, 18):
        return False
    digits = [int(c) for c in gtin]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def normalise_gtin(gtin: str) -> str:
    """GTIN-8/12/13 left-padded to 14 digits, as Digital Link and AI (01) require."""
    return gtin.zfill(14) if gtin.isdigit() and len(gtin) in (8, 12, 13) else gtin


def parse_element_string(text: str) -> dict[str, str]:
    """Raw element string (AIs run together, GS after variable-length values) -> {AI: value}."""
    s = text
    for prefix in ("]C1", "]d2", "]Q3", "]e0", "]J1"):  # symbology identifiers some scanners prepend
        if s.startswith(prefix):
            s = s[len(prefix) :]
    s = s.lstrip(GS)
    out: dict[str, str] = {}
    i = 0
    while i < len(s):
        n = ai_length(s[i : i + 2])
        ai = s[i : i + n]
        if len(ai) != n or not ai.isdigit():
            raise GS1Error(f"expected an AI at position {i}: {s[i : i + 6]!r}")
        i += n
        fixed = _fixed_len(ai)
        if fixed is not None:
            value = s[i : i + fixed]
            if len(value) != fixed:
                raise GS1Error(f"AI ({ai}) needs {fixed} characters, got {len(value)}")
            i += fixed
            if i < len(s) and s[i] == GS:
                i += 1
        else:
            end = s.find(GS, i)
            end = len(s) if end < 0 else end
            value = s[i:end]
            i = end + 1
        out[ai] = value
    return out


def parse_hri(text: str) -> dict[str, str]:
    """Bracketed form ``(01)09521234543213(21)SN1`` -> {AI: value}."""
    parts = _AI_RE.split(text.strip())
    if parts[0] != "" or len(parts) < 3:
        raise GS1Error("not a bracketed GS1 string")
    return {parts[k]: parts[k + 1] for k in range(1, len(parts) - 1, 2)}


def parse_digital_link(uri: str) -> dict[str, str]:
    """GS1 Digital Link URI -> {AI: value}; path pairs from the first primary key on, then the query."""
    parts = urlsplit(uri.strip())
    if parts.scheme not in ("http", "https"):
        raise GS1Error("not an http(s) URI")
    segs = [unquote(p) for p in parts.path.split("/") if p]
    keys = [_DL_ALIASES.get(s, s) for s in segs]
    start = next((k for k in range(len(keys) - 1) if keys[k] in _DL_PRIMARY), None)
    if start is None:
        raise GS1Error("no GS1 primary key in the URI path")
    rest = keys[start:]
    if len(rest) % 2:
        raise GS1Error("odd number of path segments after the primary key")
    out: dict[str, str] = {}
    for k in range(0, len(rest), 2):
        ai, value = rest[k], segs[start + k + 1]
        if not ai.isdigit():
            raise GS1Error(f"path key {ai!r} is not an AI")
        out[ai] = value
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        ai = _DL_ALIASES.get(key, key)
        if ai.isdigit() and 2 <= len(ai) <= 4:
            out[ai] = value
    if "01" in out:
        out["01"] = normalise_gtin(out["01"])
    return out


def parse_any(text: str) -> dict[str, str] | None:
    """Try every GS1 spelling; None when the text is not GS1 (a plain URL, a bare serial ...)."""
    t = text.strip()
    try:
        if t.startswith(("http://", "https://")):
            return parse_digital_link(t)
        if t.startswith("("):
            return parse_hri(t)
        if GS in t or t.startswith(("]C1", "]d2", "]Q3")):
            return parse_element_string(t)
    except GS1Error:
        return None
    return None


def named(ais: dict[str, str]) -> dict[str, str]:
    """{AI: value} -> {"gtin": ..., "serial": ..., "model": ...}; unknown AIs keep their number."""
    return {NAMES.get(ai, f"ai_{ai}"): value for ai, value in ais.items()}

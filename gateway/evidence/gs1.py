"""GS1 keys for the plant's lots and locations: GTIN / GLN check digits (GS1 General Specifications §7.9,
the mod-10 "3-1" weighting), LGTIN as EPC class URN (GS1 EPC Tag Data Standard §6.3.1 / §7.1) or GS1
Digital Link URI, SGLN as EPC URN.

Pure functions: the settings validate the company prefix and references with them, the EPCIS exporter
names things with them. Nothing here guesses: a lot number GS1 cannot carry (AI 10 is at most 20
characters of the CSET 82 set) is refused with a reason, and the caller keeps its private URN.
"""

from __future__ import annotations

import re
from urllib.parse import quote

DIGITAL_LINK = "https://id.gs1.org"
# AI (10) batch/lot and AI (254) GLN extension: up to 20 characters of GS1 AI encodable character set 82.
_CSET82 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$")
# characters the EPC pure-identity URN leaves as they are (TDS §6.3: "%", "&", "/", "<", ">", "?", '"' are
# %-escaped; CSET 82 has no others that need it)
_URN_SAFE = "!'()*+,-.:;=_"


class Gs1Error(ValueError):
    """A GS1 key cannot be formed from what was given (the message says why)."""


def check_digit(body: str) -> str:
    """GS1 mod-10 check digit of ``body`` (all digits, without the check digit): from the right, weights
    3, 1, 3, ...; the check digit brings the weighted sum to a multiple of 10."""
    if not body.isdigit() or not body.isascii():
        raise Gs1Error(f"{body!r}: a GS1 key is digits only")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def is_valid(key: str) -> bool:
    """True when ``key`` (GTIN-8/12/13/14, GLN, SSCC ...) ends in its own check digit."""
    return key.isascii() and key.isdigit() and len(key) >= 2 and check_digit(key[:-1]) == key[-1]


def _digits(value: str, what: str) -> str:
    if not value.isascii() or not value.isdigit():
        raise Gs1Error(f"{what} {value!r} must be digits only")
    return value


def check_prefix(company_prefix: str) -> str:
    """A GS1 Company Prefix as the EPC schemes can carry it: 6 to 12 digits (TDS partition tables)."""
    _digits(company_prefix, "company prefix")
    if not 6 <= len(company_prefix) <= 12:
        raise Gs1Error(f"company prefix {company_prefix!r} has {len(company_prefix)} digits; the EPC schemes "
                       "(LGTIN, SGLN) take 6 to 12")
    return company_prefix


def gtin14(company_prefix: str, item_reference: str, indicator: str = "0") -> str:
    """GTIN-14: indicator digit + company prefix + item reference (together 12 digits) + check digit."""
    check_prefix(company_prefix)
    _digits(item_reference, "item reference")
    if len(indicator) != 1 or not indicator.isdigit():
        raise Gs1Error(f"indicator {indicator!r} must be one digit")
    if len(company_prefix) + len(item_reference) != 12:
        raise Gs1Error(f"company prefix ({len(company_prefix)} digits) + item reference ({len(item_reference)}) "
                       "must be 12 digits for a GTIN")
    body = indicator + company_prefix + item_reference
    return body + check_digit(body)


def gln(company_prefix: str, location_reference: str) -> str:
    """GLN: company prefix + location reference (together 12 digits) + check digit."""
    check_prefix(company_prefix)
    _digits(location_reference, "location reference")
    if len(company_prefix) + len(location_reference) != 12:
        raise Gs1Error(f"company prefix ({len(company_prefix)} digits) + location reference "
                       f"({len(location_reference)}) must be 12 digits for a GLN")
    body = company_prefix + location_reference
    return body + check_digit(body)


def lot_number_problem(lot: str) -> str | None:
    """Why ``lot`` cannot be a GS1 batch/lot number (AI 10), or None when it can."""
    if len(lot) > 20:
        return f"{len(lot)} characters; GS1 AI (10) takes at most 20"
    if not _CSET82.match(lot):
        return "characters outside GS1 AI encodable character set 82"
    return None


def _split_gtin(company_prefix: str, gtin: str) -> tuple[str, str]:
    if len(gtin) != 14 or not is_valid(gtin) or gtin[1:1 + len(company_prefix)] != company_prefix:
        raise Gs1Error(f"GTIN {gtin!r} is not a valid GTIN-14 under company prefix {company_prefix!r}")
    return gtin[0] + gtin[1 + len(company_prefix):13], gtin[1:1 + len(company_prefix)]


def lgtin_urn(company_prefix: str, gtin: str, lot: str) -> str:
    """``urn:epc:class:lgtin:<CompanyPrefix>.<Indicator+ItemRef>.<Lot>`` (TDS §6.3.1, check digit dropped)."""
    if (why := lot_number_problem(lot)) is not None:
        raise Gs1Error(f"lot {lot!r}: {why}")
    item, prefix = _split_gtin(company_prefix, gtin)
    return f"urn:epc:class:lgtin:{prefix}.{item}.{quote(lot, safe=_URN_SAFE)}"


def lgtin_digital_link(gtin: str, lot: str) -> str:
    """GS1 Digital Link URI of the lot: ``https://id.gs1.org/01/<GTIN-14>/10/<lot>``."""
    if (why := lot_number_problem(lot)) is not None:
        raise Gs1Error(f"lot {lot!r}: {why}")
    if len(gtin) != 14 or not is_valid(gtin):
        raise Gs1Error(f"GTIN {gtin!r} is not a valid GTIN-14")
    return f"{DIGITAL_LINK}/01/{gtin}/10/{quote(lot, safe='-._~')}"


def sgln_urn(company_prefix: str, gln_: str, extension: str = "0") -> str:
    """``urn:epc:id:sgln:<CompanyPrefix>.<LocationRef>.<Extension>`` (TDS §6.3.3; "0" = no extension)."""
    if len(gln_) != 13 or not is_valid(gln_) or not gln_.startswith(company_prefix):
        raise Gs1Error(f"GLN {gln_!r} is not a valid GLN under company prefix {company_prefix!r}")
    if (why := lot_number_problem(extension)) is not None:  # AI (254) has the same syntax as AI (10)
        raise Gs1Error(f"GLN extension {extension!r}: {why}")
    return f"urn:epc:id:sgln:{company_prefix}.{gln_[len(company_prefix):12]}.{quote(extension, safe=_URN_SAFE)}"

"""Who may do what: one rule table over (HTTP method, route template), first match wins.

Pure data + a pure function, so the whole role matrix is testable without a server. Admin may do
everything; an unknown route is denied to everyone else (new routes default to admin-only writes and
staff-only reads, never to recyclers).
"""

from __future__ import annotations

import re
from typing import Final, Literal

Role = Literal["operator", "engineer", "recycler", "admin"]
ROLES: Final[tuple[Role, ...]] = ("operator", "engineer", "recycler", "admin")
STAFF: Final[frozenset[str]] = frozenset({"operator", "engineer", "admin"})
EVERYONE: Final[frozenset[str]] = frozenset(ROLES)
READ: Final[frozenset[str]] = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE: Final[frozenset[str]] = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Paths reachable without any credentials, in every mode.
PUBLIC: Final[tuple[str, ...]] = ("/healthz", "/readyz", "/login", "/logout", "/static/{name}", "/api/v1/auth/login",
                                  "/api/v1/auth/logout", "/locale/{lang}",
                                  # the plant as an issuer: what a recycler's verifier fetches (gateway/evidence/did.py)
                                  "/.well-known/did.json", "/credentials/status/revocation", "/contexts/{name}",
                                  "/verify")  # a certificate's QR code: sealed figures only

_RULES: Final[list[tuple[frozenset[str], re.Pattern[str], frozenset[str]]]] = [
    (r, re.compile(p), roles) for r, p, roles in [
        (READ | WRITE, r"^/api/v1/users(/|$)", frozenset({"admin"})),
        (READ | WRITE, r"^/api/v1/uploads(/|$)", frozenset({"admin"})),  # partners' endpoints and errors
        (READ, r"^/api/v1/auth/whoami$", EVERYONE),
        # recyclers: their own lots only (tenancy is enforced on every {lot_id} and in the list query)
        (READ, r"^/api/v1/lots(/\{lot_id\}(/readings|/evidence|/measurement)?)?$", EVERYONE),
        (WRITE, r"^/api/v1/lots/\{lot_id\}/(recycler|evidence/publish)$", frozenset({"operator", "admin"})),
        (WRITE, r"^/api/v1/lots/\{lot_id\}/lab-confirmations$", frozenset({"operator", "admin"})),
        (WRITE, r"^/api/v1/lines/\{line\}/lots$", frozenset({"operator", "admin"})),
        (READ, r"^/api/v1/dead-letters$", frozenset({"engineer", "admin"})),
        (WRITE, r"^/api/v1/dead-letters/\{letter_id\}/replay$", frozenset({"engineer", "admin"})),
        (WRITE, r"^/api/v1/process/claims(/|$)", frozenset({"admin"})),
        (WRITE, r"^/api/v1/process(/|$)", frozenset({"operator", "admin"})),
        (WRITE, r"^/api/v1/specs(/|$)", frozenset({"engineer", "admin"})),
        (WRITE, r"^/api/v1/(composition/)?(unmatched|identifications)(/|$)", frozenset({"operator", "admin"})),
        (WRITE, r"^/api/v1/composition(/|$)", frozenset({"engineer", "admin"})),
        (READ, r"^/api/v1/", STAFF),
        (WRITE, r"^/api/v1/", frozenset({"admin"})),
        (READ, r"^/metrics$", frozenset({"engineer", "admin"})),
        # dashboard pages
        (READ, r"^/(lots(/\{lot_id\})?)?$", EVERYONE),
        (READ, r"^/(lines|alarms|unmatched|events|composition|specs|report|trends)$", STAFF),
        (READ, r"^/dead-letters$", frozenset({"engineer", "admin"})),
    ]
]


def allowed(role: str, method: str, route: str) -> bool:
    """May ``role`` call ``method`` on the route template ``route`` (e.g. ``/api/v1/lots/{lot_id}``)?"""
    if role == "admin":
        return True
    method = method.upper()
    for methods, pattern, roles in _RULES:
        if method in methods and pattern.match(route):
            return role in roles
    return False


def is_public(route: str) -> bool:
    return route in PUBLIC


def lot_scoped(route: str) -> bool:
    """Routes naming one lot: a recycler may reach them only for lots addressed to it."""
    return "{lot_id}" in route

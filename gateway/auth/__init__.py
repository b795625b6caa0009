"""API and dashboard authentication: tokens hashed at rest, roles, recycler tenancy, failure rate limit.

See docs/security.md. ``install(app)`` wires it into the FastAPI app; ``authorize`` runs on every route.
"""

from gateway.auth.deps import PrincipalDep, authorize, install
from gateway.auth.repo import AuthRepo, Principal, UserError

__all__ = ["AuthRepo", "Principal", "PrincipalDep", "UserError", "authorize", "install"]

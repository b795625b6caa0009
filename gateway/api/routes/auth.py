"""Sessions for the dashboard and scripts: log in with a token, log out, ask who you are."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from gateway.api.models import LoggedOut, Whoami
from gateway.auth import PrincipalDep
from gateway.auth.deps import end_session, login, start_session
from gateway.auth.repo import Principal
from junkan.core.strict import STRICT

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginBody(BaseModel):
    model_config = STRICT

    token: str = Field(max_length=200, description="An API token from `junkan gateway users add`.")


def describe(principal: Principal, mode: str) -> Whoami:
    return Whoami(name=principal.name, role=principal.role, recycler=principal.tenant, via=principal.via,
                  auth_mode=mode)


@router.post("/login", summary="Exchange a token for a dashboard session cookie (HttpOnly, SameSite=Strict)")
def login_api(body: LoginBody, request: Request, response: Response) -> Whoami:
    principal = login(request, body.token)
    start_session(request, response, principal)
    return describe(principal, request.app.state.settings.auth.mode)


@router.post("/logout", summary="End the dashboard session")
def logout_api(request: Request, response: Response) -> LoggedOut:
    end_session(request, response)
    return LoggedOut(logged_out=True)


@router.get("/whoami", summary="The caller's name, role and recycler")
def whoami(principal: PrincipalDep, request: Request) -> Whoami:
    return describe(principal, request.app.state.settings.auth.mode)

"""API users (admin only): create with a one-time token, list, rotate, revoke. Tokens are stored hashed."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from gateway.api.models import Error, Revoked, Rotated, User, UserCreated
from gateway.auth import AuthRepo, UserError
from gateway.auth.policy import Role
from gateway.auth.repo import LastAdminError, UserRow
from junkan.core.names import NAME_PATTERN
from junkan.core.strict import STRICT

router = APIRouter(prefix="/api/v1/users", tags=["users"])


class NewUser(BaseModel):
    model_config = STRICT

    name: str = Field(pattern=NAME_PATTERN, description="User (or machine) name.")
    role: Role = Field(description="operator, engineer, recycler or admin.")
    recycler: str | None = Field(default=None, pattern=NAME_PATTERN,
                                 description="For role recycler: the recycler id lots are addressed to "
                                 "(default: the name).")


def _repo(request: Request) -> AuthRepo:
    return request.app.state.auth.repo  # type: ignore[no-any-return]


@router.get("", summary="Users (never their tokens)", response_model=list[User])
def list_users(request: Request) -> list[UserRow]:
    return _repo(request).list_users()


@router.post("", status_code=201, summary="Create a user; the token is in this response only",
             responses={409: {"model": Error, "description": "The user exists (or the name or role is refused)."}})
def add_user(body: NewUser, request: Request) -> UserCreated:
    try:
        token = _repo(request).add_user(body.name, body.role, body.recycler)
    except UserError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    return UserCreated(name=body.name, role=body.role, token=token)


@router.post("/{name}/rotate", summary="Replace a user's token (old one and its sessions stop working)")
def rotate(name: str, request: Request) -> Rotated:
    try:
        return Rotated(name=name, token=_repo(request).rotate(name))
    except UserError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


@router.delete("/{name}", summary="Revoke a user's token and end its sessions")
def revoke(name: str, request: Request) -> Revoked:
    try:
        _repo(request).revoke(name)
    except LastAdminError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    except UserError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    return Revoked(name=name, revoked=True)

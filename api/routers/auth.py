"""Registration, login and the signed-in user's profile."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import CallerDep, ContainerDep
from domain.users import User

router = APIRouter(prefix="/api/auth", tags=["auth"])


class RegisterBody(BaseModel):
    username: str = Field(max_length=40)
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class LoginBody(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


def profile(user: User) -> dict[str, Any]:
    """The public fields of a user."""
    return {
        "id": str(user.id),
        "username": user.username,
        "email": user.email,
        "role": user.role,
        "created_at": user.created_on.isoformat(),
    }


@router.post("/register", status_code=201)
def register(body: RegisterBody, container: ContainerDep) -> dict[str, Any]:
    """Create a customer account and sign it in."""
    user = container.identity.register(
        email=body.email, username=body.username, password=body.password
    )
    return {"user": profile(user), "token": container.tokens.issue(str(user.id), user.role)}


@router.post("/login")
def login(body: LoginBody, container: ContainerDep) -> dict[str, Any]:
    """Exchange e-mail and password for a session token (8 hours)."""
    user = container.identity.authenticate(body.email, body.password)
    return {
        "token": container.tokens.issue(str(user.id), user.role),
        "expires_in": container.tokens.lifetime_seconds,
        "user": profile(user),
    }


@router.get("/me")
def me(caller: CallerDep) -> dict[str, Any]:
    """The signed-in user's profile."""
    return profile(caller.user)

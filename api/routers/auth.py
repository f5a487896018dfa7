"""Registration, login and the signed-in user's profile."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from api.deps import CallerDep, ContainerDep
from api.schemas.accounts import Registered, Session, UserProfile
from api.schemas.errors import ANY, SIGNED_IN, WITH_BODY, errors
from api.text import TextBody
from domain.users import User

router = APIRouter(prefix="/api/auth", tags=["auth"])


class RegisterBody(TextBody):
    username: str = Field(max_length=40)
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class LoginBody(TextBody):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


def profile(user: User) -> UserProfile:
    """The public fields of a user."""
    return UserProfile(
        id=str(user.id),
        username=user.username,
        email=user.email,
        role=user.role,
        created_at=user.created_on.isoformat(),
    )


@router.post("/register", status_code=201, responses=errors(*ANY, *WITH_BODY, 409))
def register(body: RegisterBody, container: ContainerDep) -> Registered:
    """Create a customer account and sign it in."""
    user = container.identity.register(
        email=body.email, username=body.username, password=body.password
    )
    token = container.tokens.issue(str(user.id), user.role)
    return Registered(user=profile(user), token=token)


@router.post("/login", responses=errors(*SIGNED_IN, *WITH_BODY))
def login(body: LoginBody, container: ContainerDep) -> Session:
    """Exchange e-mail and password for a session token (8 hours)."""
    user = container.identity.authenticate(body.email, body.password)
    return Session(
        token=container.tokens.issue(str(user.id), user.role),
        expires_in=container.tokens.lifetime_seconds,
        user=profile(user),
    )


@router.get("/me", responses=errors(*SIGNED_IN))
def me(caller: CallerDep) -> UserProfile:
    """The signed-in user's profile."""
    return profile(caller.user)

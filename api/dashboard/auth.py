"""Who is looking at the dashboard: the signed-in member, their organization, role and environment."""

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request

from api.client_address import client_address
from api.dashboard.security import SESSION_COOKIE, secrets_of
from api.deps import DbSession
from domain.roles import Capability, Role, may
from services import members
from services.audit import Actor
from services.tenancy import Tenant


class SignInNeeded(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class NotAllowed(Exception):
    """The member's role lacks the capability: a 403 page."""


@dataclass(frozen=True)
class Viewer:
    signed_in: members.SignedIn
    ip_address: str

    @property
    def member(self) -> members.Member:
        return self.signed_in.member

    @property
    def role(self) -> Role:
        return Role(self.signed_in.member.role)

    @property
    def environment(self) -> str:
        return self.signed_in.row.environment

    @property
    def tenant(self) -> Tenant:
        return Tenant(self.signed_in.organization, self.environment)

    @property
    def actor(self) -> Actor:
        return Actor(self.member.email, self.member.id, self.ip_address)

    def may(self, capability: Capability | str) -> bool:
        return may(self.role, Capability(capability))


def session_token(request: Request) -> str | None:
    return secrets_of(request).unseal(request.cookies.get(SESSION_COOKIE))


def current_viewer(request: Request, session: DbSession) -> Viewer:
    token = session_token(request)
    found = members.signed_in(session, token) if token else None
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInNeeded(target if request.method == "GET" else "/dashboard")
    viewer = Viewer(found, client_address(request.scope))
    request.state.viewer = viewer
    return viewer


CurrentViewer = Annotated[Viewer, Depends(current_viewer)]


def needs(capability: Capability) -> Any:  # what Depends() gives: a marker for Annotated
    def check(viewer: CurrentViewer) -> Viewer:
        if not viewer.may(capability):
            raise NotAllowed()
        return viewer

    return Depends(check)


Operator = Annotated[Viewer, needs(Capability.OPERATE)]
Finance = Annotated[Viewer, needs(Capability.BILLING)]
Admin = Annotated[Viewer, needs(Capability.ADMINISTER)]


def sign_in_url(next_path: str) -> str:
    return f"/dashboard/sign-in?next={quote(next_path)}"

"""The one place the client's address comes from, for every per-address limit (the hosted pages' guessed-link
throttle, the dashboard's sign-in limit), the audit log and the e-signature record.

The address is the connection's, unless the connection comes from one of GIGCOVER_TRUSTED_PROXIES: then
uvicorn's ProxyHeadersMiddleware (installed here, on the app, and nowhere else; ``api.serve`` turns off
uvicorn's own, which trusts loopback) takes the right-most X-Forwarded-For entry that is not a trusted
proxy. Anyone else's X-Forwarded-For is ignored, so rotating it gets around no limit."""

from fastapi import FastAPI
from starlette.types import Scope
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from common.settings import Settings, trusted_proxy_networks


def install_trusted_proxies(app: FastAPI, settings: Settings) -> None:
    """Call last: the middleware added last runs first, so everything after it sees the client."""
    proxies = trusted_proxy_networks(settings)
    if proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)


def client_address(scope: Scope) -> str:
    """The client's address ("" when the server does not know it)."""
    client = scope.get("client")
    return client[0] if client else ""

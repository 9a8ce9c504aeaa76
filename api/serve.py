"""The API's HTTP server: ``python -m api.serve``, as ``make run``, the Dockerfile and the tests serve it.

uvicorn closes idle connections after 5 s by default, the same moment httpx clients stop reusing theirs; a
request sent on a connection the server is closing then fails with a connection reset. Keeping connections
open longer than any client or load balancer does (``GIGCOVER_API_KEEP_ALIVE_SECONDS``) leaves closing
idle connections to the client side, which knows when it is about to reuse one.
"""

import argparse
from collections.abc import Callable
from typing import Any

import uvicorn

from common.settings import Settings, get_settings, refuse_bad_settings


def server_config(
    app: Callable[..., Any] | str, host: str, port: int, settings: Settings, log_level: str = "info"
) -> uvicorn.Config:
    """``app`` is an application, or the import path of a factory that makes one."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        factory=isinstance(app, str),
        timeout_keep_alive=settings.api_keep_alive_seconds,
        log_level=log_level,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--app", default="api.main:create_app", help="import path of an app factory")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()
    uvicorn.Server(server_config(args.app, args.host, args.port, get_settings(), args.log_level)).run()


if __name__ == "__main__":
    refuse_bad_settings("API")  # e.g. a test-mode Stripe key in the production slot
    main()

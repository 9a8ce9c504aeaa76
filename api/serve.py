"""The API's HTTP server: ``python -m api.serve``, as ``make run``, the Dockerfile and the tests serve it.

uvicorn closes idle connections after 5 s by default, the same moment httpx clients stop reusing theirs; a
request sent on a connection the server is closing then fails with a connection reset. Keeping connections
open longer than any client or load balancer does (``GIGCOVER_API_KEEP_ALIVE_SECONDS``) leaves closing
idle connections to the client side, which knows when it is about to reuse one.
"""

import argparse
import os
import tempfile
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from api.access_log import ServerConfig
from common.logs import configure_logging
from common.settings import Settings, get_settings
from common.startup import refuse_bad_settings
from observability.http_metrics import MULTIPROCESS_DIRECTORY


def server_config(
    app: Callable[..., Any] | str,
    host: str,
    port: int,
    settings: Settings,
    log_level: str = "info",
    own_access_log: bool = True,
) -> uvicorn.Config:
    """``app`` is an application, or the import path of a factory that makes one. Its access log is the
    app's (api/access_log.py: route templates, never a link's token), not uvicorn's."""
    return ServerConfig(
        app,
        host=host,
        port=port,
        factory=isinstance(app, str),
        timeout_keep_alive=settings.api_keep_alive_seconds,
        # The client's address is derived in one place, the app (api/client_address.py, from
        # GIGCOVER_TRUSTED_PROXIES); uvicorn's own would believe X-Forwarded-For from any loopback peer.
        proxy_headers=False,
        log_level=log_level,
        own_access_log=own_access_log,
        # JSON logs: uvicorn's own loggers go through ours (common/logs.py) instead of its text handlers.
        **({"log_config": None} if settings.log_format == "json" else {}),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--app", default="api.main:create_app", help="import path of an app factory")
    parser.add_argument("--log-level", default="info")
    parser.add_argument(
        "--processes", type=int, default=None, help="API processes (default GIGCOVER_API_PROCESSES)"
    )
    args = parser.parse_args()
    settings = get_settings()
    if settings.log_format == "json":
        configure_logging(log_format="json")
    config = server_config(args.app, args.host, args.port, settings, args.log_level)
    processes = api_process_count(settings.api_processes if args.processes is None else args.processes)
    if processes == 1:
        uvicorn.Server(config).run()
        return
    # One listening socket shared by N server processes (uvicorn's own supervisor, as `--workers` runs it):
    # the kernel spreads connections over them, and a process that dies is replaced.
    config.workers = processes
    # Each process counts its own requests; the counts go to files in one folder that any process's
    # /metrics adds up (set before the processes start, since prometheus_client reads it at import).
    with tempfile.TemporaryDirectory(prefix="gigcover-api-metrics-") as counts:
        os.environ[MULTIPROCESS_DIRECTORY] = counts
        Multiprocess(config, sockets=[config.bind_socket()]).run()


def api_process_count(setting: int) -> int:
    """``0`` means one per core."""
    return setting if setting > 0 else (os.cpu_count() or 1)


if __name__ == "__main__":
    refuse_bad_settings("API")  # e.g. a test-mode Stripe key in the production slot
    main()

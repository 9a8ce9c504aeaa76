"""Run localstripe on loopback only, without its write-every-request pickle.

localstripe's own CLI binds every interface and pickles its whole store to /tmp on every write (latency
grows with each object). Here the store lives in memory while running and, when a ``--state-file`` is
given, is loaded at start and saved once at a clean stop, so a second ``make run`` finds the same data.
"""

import argparse
import logging
import pickle
from pathlib import Path

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--state-file", type=Path)
    args = parser.parse_args()

    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
    if args.state_file and args.state_file.exists():
        resources.store.update(pickle.loads(args.state_file.read_bytes()))

    async def save_state(_app: web.Application) -> None:
        if args.state_file:
            args.state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = args.state_file.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(dict(resources.store), protocol=pickle.HIGHEST_PROTOCOL))
            tmp.replace(args.state_file)

    server.app.on_shutdown.append(save_state)
    logging.basicConfig(level=logging.WARNING)
    web.run_app(server.app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()

"""Load generator, run in its own process: N concurrent clients send requests and the latency of each is
printed as JSON (milliseconds).

    python -m bench.load --url http://127.0.0.1:8000/api/v1/assignments --clients 50 --bodies bodies.json
    python -m bench.load --url 'http://127.0.0.1:8000/api/v1/assignments/{}' --clients 50 --ids ids.json
"""

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import httpx


async def run(url: str, key: str, clients: int, bodies: list | None, ids: list | None) -> list[float]:
    work = asyncio.Queue()
    for item in bodies if bodies is not None else ids or []:
        work.put_nowait(item)
    latencies: list[float] = []
    failures = 0

    async def client() -> None:
        nonlocal failures
        async with httpx.AsyncClient(auth=(key, ""), timeout=120) as http:
            while not work.empty():
                item = work.get_nowait()
                started = time.perf_counter()
                if bodies is not None:
                    response = await http.post(url, json=item)
                else:
                    response = await http.get(url.format(item))
                latencies.append((time.perf_counter() - started) * 1000)
                failures += response.status_code >= 400

    await asyncio.gather(*(client() for _ in range(clients)))
    if failures:
        print(f"{failures} requests failed", file=sys.stderr)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", default="")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--bodies", type=Path)
    parser.add_argument("--ids", type=Path)
    args = parser.parse_args()
    bodies = json.loads(args.bodies.read_text()) if args.bodies else None
    ids = json.loads(args.ids.read_text()) if args.ids else None
    print(json.dumps(asyncio.run(run(args.url, args.key, args.clients, bodies, ids))))


if __name__ == "__main__":
    main()

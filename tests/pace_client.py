"""Run as a separate process by tests/test_creatoriq_shared_rate.py: one "worker" reading from CreatorIQ
with the shared pace, as the CreatorIQ activities do. Arguments: database url, CreatorIQ url, key, count."""

import sys

from db.engine import make_engine, make_session_factory
from db.pace import shared_pacer
from integrations.creatoriq.client import CreatorIQClient, pace_interval_ms

if __name__ == "__main__":
    database_url, base_url, api_key, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    pace = shared_pacer(make_session_factory(make_engine(database_url, 2)), pace_interval_ms(5))
    with CreatorIQClient(api_key, base_url, pace=pace) as client:
        for _ in range(count):
            client.campaign(100)

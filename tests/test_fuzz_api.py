"""Schemathesis generates requests from our OpenAPI schema (valid and invalid ones) against the real
server: no 500 anywhere, and every error in the API's error format with a request id."""

from collections import Counter

import pytest
import schemathesis

# Imported at collection, while this process runs no other thread: schemathesis loads its OpenAPI modules
# lazily, and compiling them while the test servers' threads compile too can trip CPython 3.11's
# process-wide AST recursion counter ("AST constructor recursion depth mismatch"; seen once in CI).
import schemathesis.specs.openapi.schemas
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from sqlalchemy.orm import Session, sessionmaker

from tests.support import make_org

CASES_PER_OPERATION = 12  # per generation mode (valid and invalid data): over 1,000 requests in all


@pytest.fixture(scope="module")
def fuzz_key(session_factory: sessionmaker[Session]) -> str:
    return make_org(session_factory, "Fuzz Platform").sandbox_key


def test_no_server_errors_and_clean_error_bodies(api_url: str, fuzz_key: str) -> None:
    schema = schemathesis.openapi.from_url(f"{api_url}/openapi.json")
    statuses: Counter[int] = Counter()
    problems: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=CASES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                response = case.call(headers={"Authorization": f"Bearer {fuzz_key}"}, timeout=30)
                statuses[response.status_code] += 1
                where = f"{case.method} {case.formatted_path} -> {response.status_code}"
                if response.status_code >= 500:
                    problems.append(f"{where}: {response.text[:300]}")
                if not str(response.headers.get("request-id", "")).count("req_"):
                    problems.append(f"{where}: no request-id")
                if response.status_code >= 400 and case.formatted_path.startswith("/api/"):
                    body = response.json()
                    if set(body) != {"message", "error_code"} or not body["message"]:
                        problems.append(f"{where}: error body {body}")

            try:
                call()
            except (
                Unsatisfiable
            ):  # an operation with nothing that can be made invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE, f"no valid request for {operation.label}"
    assert not problems, "\n".join(problems[:20])
    assert sum(statuses.values()) >= 1000, statuses
    assert any(code >= 400 for code in statuses) and any(code < 300 for code in statuses)

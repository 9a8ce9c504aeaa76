"""Bodies too large, or JSON nested too deep, are refused in our error format before anything parses them,
and change nothing."""

from collections.abc import Iterator

import httpx

from api.limits import json_depth
from tests.support import Org, contractor_fields, unique_email


def _contractors(api_url: str, org: Org) -> list[object]:
    return httpx.get(f"{api_url}/api/v1/contractors", auth=(org.sandbox_key, ""), timeout=30).json()


def test_a_body_over_the_limit_gets_413(api_url: str, org: Org) -> None:
    huge = {**contractor_fields(unique_email()), "custom_metadata": {"notes": "x" * 2_000_000}}
    answer = httpx.post(f"{api_url}/api/v1/contractors", json=huge, auth=(org.sandbox_key, ""), timeout=30)
    assert answer.status_code == 413
    assert answer.json() == {
        "message": "The request body is larger than 1048576 bytes",
        "error_code": "request_too_large",
    }

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"first_name": "'
        for _ in range(40):
            yield b"y" * 50_000
        yield b'"}'

    streamed = httpx.post(
        f"{api_url}/api/v1/contractors",
        content=chunks(),
        headers={"content-type": "application/json"},
        auth=(org.sandbox_key, ""),
        timeout=30,
    )
    assert streamed.status_code == 413 and streamed.json()["error_code"] == "request_too_large"
    assert _contractors(api_url, org) == []


def test_json_nested_too_deep_is_refused_before_parsing(api_url: str, org: Org) -> None:
    nested = '{"first_name": ' + "[" * 5_000 + "]" * 5_000 + "}"
    answer = httpx.post(
        f"{api_url}/api/v1/contractors",
        content=nested,
        headers={"content-type": "application/json"},
        auth=(org.sandbox_key, ""),
        timeout=30,
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "message": "The JSON body nests deeper than 32 levels",
        "error_code": "invalid_input",
    }
    assert _contractors(api_url, org) == []


def test_json_depth_ignores_brackets_inside_strings() -> None:
    assert json_depth('{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth('"\\"[[[["') == 0
    assert json_depth("[]") == 1

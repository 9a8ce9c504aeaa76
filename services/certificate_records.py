"""How a certificate's review is kept in its row and shown: the parsed certificate and the rule results as
JSON (``Certificate.parsed``, ``Certificate.review``) and back, and the API's ``certificate`` object."""

from collections.abc import Collection
from typing import Any

from pydantic import TypeAdapter

from db.models import Certificate
from domain.certificates import ParsedCertificate, RuleResult

_PARSED = TypeAdapter(ParsedCertificate)
_RESULTS = TypeAdapter(list[RuleResult])

EXPAND_SUMMARY = "review_results"
EXPAND_FULL = "review_results.full"
EXPANDABLE = frozenset({EXPAND_SUMMARY, EXPAND_FULL})


def parsed_to_json(parsed: ParsedCertificate) -> dict[str, Any]:
    return _PARSED.dump_python(parsed, mode="json")


def parsed_from_json(data: dict[str, Any]) -> ParsedCertificate:
    return _PARSED.validate_python(data)


def results_to_json(results: list[RuleResult]) -> list[Any]:
    return _RESULTS.dump_python(results, mode="json")


def results_from_json(data: list[Any] | None) -> list[RuleResult]:
    return _RESULTS.validate_python(data or [])


def _summary(results: list[RuleResult]) -> dict[str, Any]:
    passed = sum(1 for r in results if r.satisfied)
    return {"rules": len(results), "passed": passed, "failed": len(results) - passed}


def _rule(result: RuleResult) -> dict[str, Any]:
    waiver = result.waiver
    return {
        "rule": result.rule,
        "description": result.description,
        "passed": result.passed,
        "required": result.required,
        "found": result.found,
        "where": result.where,
        "reason": result.reason or None,
        "waiver": {"by": waiver.by, "at": waiver.at, "reason": waiver.reason} if waiver else None,
    }


def review_results(row: Certificate, expand: Collection[str]) -> dict[str, Any] | None:
    """None until the certificate was reviewed or unless asked for; the summary, or with ``.full`` also
    the parsed certificate and one result per rule."""
    if not (set(expand) & EXPANDABLE) or (row.review is None and row.parsed is None and row.error is None):
        return None
    results = results_from_json(row.review)
    shown: dict[str, Any] = _summary(results)
    if row.error is not None:
        shown["error"] = row.error
    if EXPAND_FULL in expand:
        shown["certificate"] = row.parsed
        shown["results"] = [_rule(r) for r in results]
    return shown


def certificate_json(row: Certificate, pdf_url: str, expand: Collection[str] = ()) -> dict[str, Any]:
    """The API's ``certificate`` object (also the data of every certificate.* event)."""
    return {
        "id": row.id,
        "object": "certificate",
        "contractor": row.contractor_id,
        "status": str(row.status),
        "created": row.created,
        "filename": row.filename,
        "pdf_url": pdf_url,
        "insurance_requirement": row.requirement_id,
        "assignment": row.assignment_id,
        "coverage_ends": row.coverage_ends,
        "superseded_by": row.superseded_by,
        "lapsed_at": row.lapsed_at,
        "error": row.error,
        "review_results": review_results(row, expand),
    }

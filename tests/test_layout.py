"""The layout's import rules (README, "Layout"), read from every module's imports: fronts call the services,
no front imports another, and the pure and the deterministic code import nothing with I/O of their own."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROUTERS = ("api.routers.", "api.hosted.pages", "api.hosted.cards")
STDLIB_OK = {"collections", "dataclasses", "enum", "typing", "re", "ipaddress", "email_validator"}


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def modules(folder: str) -> list[tuple[str, set[str]]]:
    return [
        (str(path.relative_to(ROOT)), imports_of(path))
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "migrations" not in path.parts
    ]


def offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{name} imports {module}"
        for name, found in modules(folder)
        for module in sorted(found)
        if any(
            module == f.rstrip(".") or module.startswith(f if f.endswith(".") else f + ".") for f in forbidden
        )
    ]


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("api", ("activities",)),
        ("services", ("api", "activities")),
        ("activities", ("api",)),
        ("integrations", ("api", "services", "activities")),
        ("outbox", ("api", "services", "activities")),
        ("db", ("api", "services", "activities")),
        ("documents", ("api", "services", "activities")),
        ("notifications", ("api", "services", "activities")),
        ("common", ("api", "services", "activities")),
        ("observability", ("api", "services", "activities", "workflows")),
        ("workflows", ("api", "services", "db", "integrations", "sqlalchemy", "stripe", "httpx")),
        ("contracts", ("api", "services", "activities", "workflows", "db", "outbox", "integrations", "common")),
    ],
)
def test_a_folder_imports_only_what_the_layout_allows(folder: str, forbidden: tuple[str, ...]) -> None:
    assert offenders(folder, forbidden) == []


def test_no_router_imports_another_router() -> None:
    crossing = [
        f"{name} imports {module}"
        for folder in ("api/routers", "api/hosted")
        for name, found in modules(folder)
        for module in found
        if module.startswith(ROUTERS) and module.replace(".", "/") + ".py" != name
    ]
    assert crossing == []


def test_domain_imports_only_domain_and_the_standard_library() -> None:
    outside = [
        f"{name} imports {module}"
        for name, found in modules("domain")
        for module in found
        if module.split(".")[0] not in {"domain", *STDLIB_OK}
    ]
    assert outside == []


def test_every_workflow_message_is_declared_with_its_name_from_the_contracts() -> None:
    """``@workflow.update``/``query``/``signal`` name their handler with a constant from contracts/, so no
    caller spells the wire name as a bare string and renaming a method changes nothing on the wire."""
    bare = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
        for path in sorted((ROOT / "workflows").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for decorator in node.decorator_list
        if ast.unparse(decorator).startswith(("workflow.update", "workflow.query", "workflow.signal"))
        and not (isinstance(decorator, ast.Call) and any(k.arg == "name" for k in decorator.keywords))
    ]
    assert bare == []

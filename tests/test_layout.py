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


def _runtime_imports(path: Path) -> set[str]:
    """The modules a file imports when it runs: those under ``if TYPE_CHECKING:`` are type hints only."""
    tree = ast.parse(path.read_text())
    hints = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}
        for inner in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in hints:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_dashboard_reads_and_changes_only_through_the_services() -> None:
    """The dashboard parses a form, calls a service and renders: no model, query or persistence code of its
    own (models may name a type under TYPE_CHECKING), and no page borrows from another page."""
    found = {
        str(path.relative_to(ROOT)): _runtime_imports(path)
        for path in sorted((ROOT / "api/dashboard").rglob("*.py"))
    }
    reaching = [
        f"{name} imports {module}"
        for name, modules_ in found.items()
        for module in sorted(modules_)
        if module == "db" or module.startswith("db.")
    ]
    crossing = [
        f"{name} imports {module}"
        for name, modules_ in found.items()
        if name.startswith("api/dashboard/pages/")
        for module in sorted(modules_)
        if module.startswith("api.dashboard.pages.")
    ]
    assert reaching + crossing == []

"""The layout's import rules (README, "Layout"), read from every module's imports: fronts call the services,
no front imports another, and the pure and the deterministic code import nothing with I/O of their own."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROUTERS = ("api.routers.", "api.hosted.pages", "api.hosted.cards")
STDLIB_OK = {"collections", "dataclasses", "datetime", "enum", "typing", "re", "ipaddress", "email_validator"}


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


# The product's first-party packages (what the layout rules are about).
PACKAGES = (
    "activities",
    "api",
    "common",
    "contracts",
    "db",
    "documents",
    "domain",
    "integrations",
    "notifications",
    "observability",
    "outbox",
    "services",
    "workflows",
)


@pytest.mark.parametrize(
    ("folder", "allowed"), [("common", {"common", "domain"}), ("contracts", {"contracts", "domain"})]
)
def test_the_leaves_import_no_package_above_domain(folder: str, allowed: set[str]) -> None:
    """common/ (settings, ids, logs, shared field types) and contracts/ (what workflows and callers agree on)
    are imported by every layer, so they import only the standard library, third parties and domain/."""
    above = [
        f"{name} imports {module}"
        for name, found in modules(folder)
        for module in sorted(found)
        if module.split(".")[0] in PACKAGES and module.split(".")[0] not in allowed
    ]
    assert above == []


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _imported_names(path: Path) -> set[str]:
    """``from common import encryption`` imports the module common.encryption."""
    return {
        f"{node.module}.{alias.name}"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
        for alias in node.names
    }


def _product_imports() -> dict[str, set[str]]:
    """Every product module and the product modules and packages it imports, function-local imports too."""
    return {
        _module_name(path): imports_of(path) | _imported_names(path)
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
    }


def test_no_two_packages_import_each_other_even_through_others() -> None:
    packages: dict[str, set[str]] = {}
    for name, found in _product_imports().items():
        home = name.split(".")[0]
        packages.setdefault(home, set()).update(
            module.split(".")[0] for module in found if module.split(".")[0] in PACKAGES
        )
        packages[home].discard(home)
    assert _cycles(packages) == []


def test_no_two_modules_import_each_other_even_through_a_function_local_import() -> None:
    imports = _product_imports()
    graph = {
        name: {module for module in found if module in imports and module != name}
        for name, found in imports.items()
    }
    assert _cycles(graph) == []


def _runtime_imports(path: Path) -> set[str]:
    """The modules imported when the module runs: not those under ``if TYPE_CHECKING:`` (type hints)."""
    tree = ast.parse(path.read_text())
    hints = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for statement in node.body
        for child in ast.walk(statement)
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


@pytest.mark.parametrize("folder", ["api/routers", "api/hosted"])
def test_a_front_builds_no_query_and_reads_no_table(folder: str) -> None:
    """The REST routers and the hosted pages parse, call one service and render: db.models only as type
    hints, and of SQLAlchemy only the Session type a service is called with."""
    reaching = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        for module in sorted(_runtime_imports(path))
        if module.split(".")[0] == "db"
        or (module.split(".")[0] == "sqlalchemy" and module != "sqlalchemy.orm")
    ]
    assert reaching == []


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

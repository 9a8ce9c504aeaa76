"""docker-compose.yml cannot be run here (no Docker engine), so check everything that can be checked."""

import re
import shlex
from pathlib import Path

import yaml
from sqlalchemy.engine import make_url

from common.settings import Settings
from common.temporal import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("api", "worker", "migrate")


def test_every_service_the_app_needs_is_there() -> None:
    assert {
        "postgresql",
        "temporal-admin-tools",
        "temporal",
        "temporal-create-namespace",
        "temporal-ui",
        "mailpit",
        "localstripe",
        "migrate",
        "api",
        "worker",
    } <= set(SERVICES)
    assert {"8000:8000", "8080:8080", "7233:7233", "8025:8025", "1025:1025", "8420:8420"} <= {
        port for service in SERVICES.values() for port in service.get("ports", [])
    }


def test_app_environment_matches_the_settings_it_reads() -> None:
    fields = {f"GIGCOVER_{name.upper()}" for name in Settings.model_fields}
    for name in APP_SERVICES:
        env = SERVICES[name]["environment"]
        assert set(env) <= fields, f"{name} sets variables the app never reads: {set(env) - fields}"
        settings = Settings(
            _env_file=None, **{k.removeprefix("GIGCOVER_").lower(): _expand(v) for k, v in env.items()}
        )
        url = make_url(settings.resolved_database_url)
        assert (url.drivername, url.host, url.database) == ("postgresql+psycopg", "postgresql", "gigcover")
        host, port = settings.temporal_address.split(":")
        assert host == "temporal" and f"{port}:{port}" in SERVICES["temporal"]["ports"]
        assert (
            settings.smtp_host == "mailpit" and f"{settings.smtp_port}:1025" in SERVICES["mailpit"]["ports"]
        )
        assert settings.stripe_api_base == "http://localstripe:8420"


def test_ordering_and_one_shot_jobs() -> None:
    def waits_for(service: str) -> dict[str, str]:
        return {k: v["condition"] for k, v in SERVICES[service].get("depends_on", {}).items()}

    assert waits_for("temporal") == {"temporal-admin-tools": "service_completed_successfully"}
    for name in ("api", "worker"):
        assert waits_for(name) == {
            "migrate": "service_completed_successfully",
            "temporal-create-namespace": "service_completed_successfully",
        }
    assert SERVICES["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_commands_point_at_code_that_exists() -> None:
    commands = {
        name: " ".join(SERVICES[name]["command"]) for name in ("api", "worker", "migrate", "localstripe")
    }
    assert (ROOT / "api/serve.py").exists() and "-m api.serve" in commands["api"]
    assert (ROOT / "worker.py").exists() and "worker.py" in commands["worker"]
    assert "-m devstack.localstripe_server" in commands["localstripe"]
    for script in ("setup-postgres.sh", "create-namespace.sh"):
        assert (ROOT / "deploy/temporal" / script).exists()
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in shlex.split(line)[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is not in the repository"


def test_namespace_job_registers_our_search_attributes() -> None:
    script = (ROOT / "deploy/temporal/create-namespace.sh").read_text()
    registered = dict(re.findall(r"(\w+)=(Keyword|Datetime)", script))
    kinds = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}
    assert registered == {key.name: kinds[key.indexed_value_type.name] for key in SEARCH_ATTRIBUTES}


def _expand(value: str) -> str:
    """Compose's ``${VAR:-default}`` and ``${VAR-default}`` with no VAR set."""
    return re.sub(r"\$\{\w+:?-([^}]*)\}", r"\1", value)


def test_the_image_contains_every_package_the_project_installs() -> None:
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"][
        "include"
    ]
    copied = {
        shlex.split(line)[1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
    }
    for package in packages:
        assert package.rstrip("*") in copied, f"the Dockerfile does not copy {package.rstrip('*')}/"
    product = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert product <= {p.rstrip("*") for p in packages}, "a package of the product is not installed"
    for module in ("worker.py", "manage.py", "alembic.ini"):
        assert any(
            module in line
            for line in (ROOT / "Dockerfile").read_text().splitlines()
            if line.startswith("COPY ")
        )

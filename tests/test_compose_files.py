"""The compose files as both podman-compose 1.0.x and docker compose v2 read them (docs/deployment.md).

scripts/deploy-check runs them for real where podman is available; these
checks keep the rules that make them portable, and the architecture's
figures, true on every machine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BASE = "compose.yaml"
OVERRIDES = ("compose.staging.yaml", "compose.balancer.yaml")
INTERPOLATION = re.compile(r"\$\{([^}]*)\}")


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def services(name: str) -> dict:
    return load(name)["services"]


def strings(node):
    """Every string value of a loaded YAML document (what the tools interpolate)."""
    if isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)
    elif isinstance(node, str):
        yield node


@pytest.mark.parametrize("name", [BASE, *OVERRIDES])
def test_no_empty_default_interpolation(name):
    """podman-compose 1.0.3 passes ${VAR:-} through literally (JWT_ISSUER='${JWT_ISSUER:-}')."""
    expressions = [found for value in strings(load(name)) for found in INTERPOLATION.findall(value)]
    assert expressions or name != BASE
    for expression in expressions:
        variable, _, rest = expression.partition(":")
        assert re.fullmatch(r"[A-Z_][A-Z0-9_]*", variable), expression
        assert rest == "" or (rest[0] in "-?" and rest[1:].strip()), f"${{{expression}}} in {name}"


def test_healthchecks_are_shell_strings():
    """Both tools run a string with /bin/sh -c; podman-compose 1.0.3 mangles the list form."""
    for name, service in services(BASE).items():
        test = service["healthcheck"]["test"]
        assert isinstance(test, str), name
        assert not test.startswith(("CMD", "NONE")), name


@pytest.mark.parametrize("override", OVERRIDES)
def test_overrides_replace_no_list_field(override):
    """podman-compose appends lists when merging -f files: an override may only add one."""
    base = services(BASE)
    for name, service in services(override).items():
        for key, value in service.items():
            if isinstance(value, list) and name in base:
                assert key not in base[name], f"{override}: {name}.{key} would be appended to, not replaced"


def test_backend_figures_of_the_architecture():
    backend = services(BASE)["backend"]
    assert backend["restart"] == "unless-stopped"
    assert backend["expose"] == ["3000"]
    resources = backend["deploy"]["resources"]
    assert resources["limits"] == {"cpus": "1.0", "memory": "512M"}
    assert resources["reservations"] == {"cpus": "0.25", "memory": "128M"}
    assert "http://127.0.0.1:3000/health" in backend["healthcheck"]["test"]
    assert backend["env_file"] == ".env"
    assert backend["environment"]["TRUSTED_PROXIES"] == "gateway"


def test_postgres_18_keeps_its_data_in_the_named_volume():
    postgres = services(BASE)["postgres"]
    assert postgres["image"].endswith("postgres:18}")
    assert postgres["volumes"] == ["postgres-data:/var/lib/postgresql"]
    assert postgres["restart"] == "unless-stopped"


def test_valkey_7_appends_and_requires_the_password_everyone_uses():
    compose = services(BASE)
    valkey = compose["valkey"]
    assert re.search(r"valkey:7[.\d]*-", valkey["image"])
    assert valkey["restart"] == "unless-stopped"
    command = valkey["command"]
    assert "--appendonly yes" in command
    password = re.search(r"--requirepass (\$\{VALKEY_PASSWORD:\?[^}]+\})", command).group(1)
    assert valkey["environment"]["REDISCLI_AUTH"] == password  # the healthcheck's valkey-cli authenticates
    assert compose["backend"]["environment"]["VALKEY_URL"] == f"redis://:{password}@valkey:6379/0"


def test_the_backend_requires_its_secrets_from_the_env_file():
    environment = services(BASE)["backend"]["environment"]
    for name in ("JWT_SECRET", "SESSION_KEY_KEK"):
        assert re.fullmatch(rf"\$\{{{name}:\?set {name} in \.env[^}}]*\}}", environment[name]), name


def test_staging_publishes_the_backend_on_loopback_only():
    published = [port for service in services("compose.staging.yaml").values() for port in service["ports"]]
    assert published == ["127.0.0.1:3000:3000"]
    replica = services("compose.balancer.yaml")["backend-2"]
    assert replica["ports"] == ["127.0.0.1:3001:3000"]
    assert replica["extends"] == {"file": BASE, "service": "backend"}


def test_apache_configuration_holds_the_architecture_s_four_lines():
    lines = (ROOT / "deploy/apache/asistencia.conf").read_text().splitlines()
    for line in ("ProxyPass /api http://localhost:3000/api", "ProxyPassReverse /api http://localhost:3000/api",
                 "ProxyPass /ws ws://localhost:3000/ws", "ProxyPassReverse /ws ws://localhost:3000/ws"):
        assert line in lines

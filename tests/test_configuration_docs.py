"""docs/configuration.md and `Config` agree: every field has one row with its
environment variable and its default, and no row names a field or a variable
that does not exist.

A row is `| `VARIABLE` | `field` | `default` | meaning |` in any table with
that header; `—` as the variable means the field is not read from the
environment.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from pathlib import Path

import pytest

from asistencia.config import PROJECT_ROOT, Config, load_config
from asistencia.crypto import b64url_encode

DOC = PROJECT_ROOT / "docs" / "configuration.md"
HEADER = ["variable", "field", "default", "meaning"]
NOT_FROM_ENVIRONMENT = "—"
FIELDS = {field.name: field for field in dataclasses.fields(Config)}
# Outside dev mode, so that ASISTENCIA_DEV can be switched on like any other setting.
BASE_ENVIRONMENT = {"JWT_SECRET": "b" * 40, "SESSION_KEY_KEK": b64url_encode(b"c" * 32)}


@dataclasses.dataclass(frozen=True)
class Row:
    variable: str
    field: str
    default: str
    line: int


def _cells(line: str) -> list[str]:
    return [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]


def documented_rows(text: str) -> list[Row]:
    rows, in_table = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("|"):
            in_table = False
        elif _cells(line) == HEADER:
            in_table = True
        elif in_table and not re.fullmatch(r"\|[\s|:-]+\|", line.strip()):
            variable, field, default, _meaning = _cells(line)
            rows.append(Row(variable, field, default, number))
    return rows


def rendered(value: object) -> str:
    """A default as the documentation writes it: as you would set it."""
    if value is None or value == "" or value == ():
        return "unset"
    if isinstance(value, bytes):
        return "the public dev key"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Path):
        return value.relative_to(PROJECT_ROOT).as_posix()
    if isinstance(value, tuple):
        return ",".join(str(network.network_address) if network.prefixlen == network.max_prefixlen else str(network)
                        for network in map(ipaddress.ip_network, value))
    return str(value)


def another_valid_value(variable: str, default: object) -> str:
    """A value for `variable` that the loader accepts and that differs from the default."""
    if isinstance(default, bool):
        return "0" if default else "1"
    if isinstance(default, int | float):
        return str(default + 1)
    if isinstance(default, Path):
        return "elsewhere"
    if isinstance(default, bytes) or variable.startswith("SESSION_KEY_KEK"):
        return b64url_encode(b"d" * 32)
    if isinstance(default, tuple):
        return "10.0.0.0/8"
    if default is None or default == "":
        return "x" * 40
    return {"LOG_LEVEL": "DEBUG", "TIMEZONE": "UTC", "EVENT_LOOP": "uvloop"}.get(variable, f"{default}x")


ROWS = documented_rows(DOC.read_text())


def load(tmp_path: Path, **environ: str) -> Config:
    base = dict(BASE_ENVIRONMENT)
    if environ.get("ASISTENCIA_DEV") == "1":
        del base["JWT_SECRET"]  # dev mode refuses any secret but its own
    return load_config({**base, **environ}, env_file=tmp_path / "absent.env")


def test_the_document_has_rows():
    assert len(ROWS) >= 10, f"no configuration tables with the header {HEADER} in {DOC}"


def test_every_row_names_a_field_of_config_once():
    unknown = [f"line {row.line}: {row.field}" for row in ROWS if row.field not in FIELDS]
    assert not unknown, f"{DOC.name} documents fields Config does not have: {unknown}"
    fields = [row.field for row in ROWS]
    twice = sorted({field for field in fields if fields.count(field) > 1})
    assert not twice, f"{DOC.name} documents these fields more than once: {twice}"


@pytest.mark.parametrize("name", FIELDS)
def test_the_field_is_documented_with_its_default(name):
    rows = [row for row in ROWS if row.field == name]
    assert rows, f"Config.{name} is not documented in {DOC.relative_to(PROJECT_ROOT)}: add a row to one of its tables"
    assert rows[0].default == rendered(FIELDS[name].default), f"line {rows[0].line}: the code's default differs"


@pytest.mark.parametrize("row", [row for row in ROWS if row.field in FIELDS], ids=lambda row: row.field)
def test_the_documented_variable_sets_the_field(row, tmp_path):
    default = FIELDS[row.field].default
    before = getattr(load(tmp_path), row.field)
    if row.variable == NOT_FROM_ENVIRONMENT:
        after = getattr(load(tmp_path, **{row.field.upper(): another_valid_value(row.field.upper(), default)}),
                        row.field)
        assert after == before, f"line {row.line}: {row.field.upper()} is read from the environment; document it"
    else:
        after = getattr(load(tmp_path, **{row.variable: another_valid_value(row.variable, default)}), row.field)
        assert after != before, f"line {row.line}: setting {row.variable} does not change Config.{row.field}"

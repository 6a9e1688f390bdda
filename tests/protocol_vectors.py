"""The test vectors of docs/protocol.md §7, read from the document itself."""

from __future__ import annotations

import json
import re

from asistencia.config import PROJECT_ROOT

_BLOCK = re.compile(r"```json protocol-v2-vectors\n(.*?)\n```", re.S)


def protocol_vectors() -> dict:
    found = _BLOCK.search((PROJECT_ROOT / "docs" / "protocol.md").read_text())
    assert found, "docs/protocol.md has no protocol-v2-vectors block"
    return json.loads(found.group(1))

"""The test vectors of docs/protocol.md §7 and §8.6, read from the document itself."""

from __future__ import annotations

import json
import re

from asistencia.config import PROJECT_ROOT


def protocol_vectors(name: str = "protocol-v2-vectors") -> dict:
    found = re.search(rf"```json {name}\n(.*?)\n```", (PROJECT_ROOT / "docs" / "protocol.md").read_text(), re.S)
    assert found, f"docs/protocol.md has no {name} block"
    return json.loads(found.group(1))


def shared_frame_vectors() -> dict:
    return protocol_vectors("protocol-v2-shared-frame-vectors")

"""The wire JSON is the same with orjson and without it (the pure-Python fallback)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from asistencia import jsoncodec
from asistencia.config import PROJECT_ROOT

DOCUMENTS = [
    {"type": "frame", "session": 12, "seq": 3, "qrs": ["AB C$%*+-./:", "0" * 75], "time_left_ms": 0},
    {"error": {"code": "VALIDATION_FAILED", "message": "Sesión inválida: ñandú", "fields": {0: ["Not a valid"]}}},
    {"result": "partial", "round": 1, "next_round": 2, "rounds": 3, "ok": True, "none": None, "ratio": 0.25},
    {"big": 2**70, "negative": -(2**63), "nested": [[{"a": []}]]},
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_both_encoders_write_the_same_text(document):
    assert jsoncodec.dumps_bytes(document) == jsoncodec._standard_bytes(document)
    assert jsoncodec.loads(jsoncodec.dumps_bytes(document)) == json.loads(json.dumps(document))


def test_the_server_side_runs_without_orjson(tmp_path):
    """An interpreter without the wheel falls back to the standard library, with the same output."""
    (tmp_path / "orjson.py").write_text("raise ImportError('not installed')\n")
    program = ("import sys, json; from asistencia import jsoncodec as j; "
               "print(j.accelerator()); sys.stdout.write(j.dumps(json.loads(sys.argv[1])))")
    document = json.dumps(DOCUMENTS[1])
    result = subprocess.run([sys.executable, "-c", program, document], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, env={"PYTHONPATH": str(tmp_path)}, timeout=60, check=True)
    name, _, text = result.stdout.partition("\n")
    assert name == "json"
    assert text == jsoncodec.dumps(json.loads(document))

# Sourced by the other scripts: make .venv exist and match setup.cfg + constraints.txt.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "asistencia: Python 3.11+ is needed (python3 not found). Install it, e.g. 'sudo apt-get install python3 python3-venv'." >&2
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "asistencia: Python 3.11+ is needed, found $("$python" --version 2>&1). Set PYTHON=/path/to/python3.11." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "asistencia: creating .venv" >&2
  "$python" -m venv .venv || {
    echo "asistencia: could not create a virtual environment; install python3-venv (Debian/Ubuntu)." >&2
    exit 1
  }
fi
stamp=".venv/.installed-$(cat setup.cfg pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "asistencia: installing dependencies into .venv" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test,fast,bench]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# Sourced by the other scripts: make (or reuse) the virtual environment and install into it.
# PYTHON picks the interpreter (default python3), VENV the folder (default .venv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
venv_install() {
  "$VENV/bin/python" -m pip install --quiet "$@"
}

#!/usr/bin/env bash
# Makes the embedded AWS emulator available: a project-local venv with a pinned moto[server];
# when the package index cannot be reached, a moto_server already on PATH is used instead.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION="5.2.5"
venv=".venv"
if [ -x "$venv/bin/moto_server" ] && "$venv/bin/python" -c "import moto,sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  exit 0
fi
if python3 -m venv "$venv" >/dev/null 2>&1 \
  && "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >"$venv.install.log" 2>&1; then
  echo "moto[server] $MOTO_VERSION installed in $venv"
  exit 0
fi
if command -v moto_server >/dev/null 2>&1; then
  echo "warning: could not install moto[server]==$MOTO_VERSION (see $venv.install.log); using $(command -v moto_server)" >&2
  exit 0
fi
echo "error: no moto server: installing moto[server]==$MOTO_VERSION failed (see $venv.install.log) and none is on PATH" >&2
exit 1

#!/usr/bin/env bash
# Makes the embedded AWS emulator available: a project-local venv with the moto[server] pinned in
# infra/local/moto/requirements.txt. When that cannot be installed (no package index), a
# moto_server already on PATH is used only if it runs the pinned moto, or, running another moto,
# with the emulator's speed patches off (infra/local/moto/sitecustomize.py turns them off there
# and checks that its correctness patches fit); any other moto_server is refused.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements="infra/local/moto/requirements.txt"
pinned=$(sed -n 's/^moto\[server\]==\([^[:space:]]*\)$/\1/p' "$requirements")
if [ -z "$pinned" ]; then
  echo "error: $requirements pins no moto[server]==<version>" >&2
  exit 1
fi
venv=".venv"

# The version of the moto a moto_server runs, empty when it cannot tell: its Python loads the
# probe at start-up, which prints the version and exits before a server starts.
moto_version_of() {
  PYTHONPATH="infra/local/moto/version-probe" timeout 60 "$1" --help 2>/dev/null \
    | sed -n 's/^moto \([^[:space:]]*\)$/\1/p' | head -n 1 || true
}

if [ -x "$venv/bin/moto_server" ] && [ "$(moto_version_of "$venv/bin/moto_server")" = "$pinned" ]; then
  exit 0
fi
if python3 -m venv "$venv" >/dev/null 2>&1 \
  && "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >"$venv.install.log" 2>&1; then
  echo "moto[server] $pinned installed in $venv"
  exit 0
fi
failed="could not install moto[server]==$pinned (see $venv.install.log)"
if ! on_path=$(command -v moto_server); then
  echo "error: $failed and no moto_server is on PATH" >&2
  exit 1
fi
found=$(moto_version_of "$on_path")
if [ "$found" = "$pinned" ]; then
  echo "warning: $failed; using $on_path (moto $found, the pinned version)" >&2
elif [ -n "$found" ]; then
  echo "warning: $failed; using $on_path, which runs moto $found, not the pinned $pinned:" \
    "the emulator applies its correctness patches only (speed patches off, slower)" >&2
else
  echo "error: $failed, and $on_path does not say which moto it runs" >&2
  exit 1
fi

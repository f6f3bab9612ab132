#!/usr/bin/env bash
# One command: install, build, and start Scytale on its embedded defaults (SQLite, soft root)
# at http://127.0.0.1:8080 with its data in ./data. Extra arguments go to `scytale serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/bin/scytale serve --listen 127.0.0.1:8080 --data-dir ./data "$@"

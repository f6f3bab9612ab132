#!/usr/bin/env bash
# Installs what the Node.js end-to-end tests need: node + npm (Debian's packages when
# missing) and the locked npm dependencies of this folder (npm ci). Idempotent: does
# nothing when node_modules is newer than package-lock.json.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "installing node and npm (Debian packages)"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi

major=$(node -p 'process.versions.node.split(".")[0]')
if ((major < 20)); then
  echo "warning: node $(node --version) is older than the v20 that the AWS SDK for JavaScript v3 requires" >&2
fi

# node_modules/.package-lock.json is written by every npm install/ci: it is the stamp.
stamp=node_modules/.package-lock.json
if [[ -f $stamp && $stamp -nt package-lock.json ]]; then
  echo "node test dependencies up to date (node $(node --version))"
  exit 0
fi

echo "npm ci in tests/e2e/node (node $(node --version), npm $(npm --version))"
npm ci --no-audit --no-fund --loglevel=error
touch "$stamp"

#!/usr/bin/env bash
# Installs every Debian package that building, testing and running Scytale needs.
# Idempotent and non-interactive; does nothing (no apt-get at all) when all are present.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev       # Boost.Beast / Asio: the HTTP server
  nlohmann-json3-dev     # JSON codec
  libcli11-dev           # command line
  libssl-dev             # OpenSSL 3: all cryptography
  libsqlite3-dev         # embedded store
  libpq-dev              # libpq: the PostgreSQL store (several nodes on one database)
  postgresql             # PostgreSQL server binaries: tests start a private cluster (initdb)
  libpcre2-dev           # the service model's Java-style patterns (validation)
  libjemalloc-dev        # the server's allocator: ~10 % less CPU per Encrypt than glibc's malloc
  libgtest-dev libgmock-dev libbenchmark-dev   # unit tests, microbenchmarks
  python3 python3-boto3 awscli                 # e2e clients (Debian's boto3, AWS CLI v2)
  python3-cryptography openssl                 # e2e: independent verifiers of signatures, OAEP, ECDH
  softhsm2                                     # PKCS#11 token for the pkcs11 keystore's tests (SoftHSM2)
  opensc                                       # pkcs11-tool: proves the token's root key cannot be read
  libp11-kit-dev                               # <p11-kit/pkcs11.h>: the standard PKCS#11 header
  clang-14 libclang-rt-14-dev                  # libFuzzer's runtime for fuzz/ (scripts/fuzz.sh)
  binutils                                     # objcopy: adapts that runtime to g++ (fuzz/)
  curl ca-certificates procps
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "all Debian packages present"
fi

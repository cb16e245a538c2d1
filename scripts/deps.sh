#!/usr/bin/env bash
# deps.sh - installs the Debian 12 packages barge needs to build and test.
#
#   scripts/deps.sh          build and test packages
#   scripts/deps.sh build    only what `make` needs
#
# As root it runs apt-get; otherwise it prints the exact command to run and
# exits 1 when something is missing.
set -eu

build_pkgs="build-essential pkg-config libjson-c-dev libcurl4-openssl-dev
libmicrohttpd-dev libssl-dev libsqlite3-dev libpq-dev libinih-dev"
test_pkgs="libcmocka-dev python3 python3-botocore postgresql-15"
# node and npm run the official SDK clients the tests drive (tests/peers); a
# node installed some other way (NodeSource, nvm) is used as it is.
command -v node >/dev/null 2>&1 || test_pkgs="$test_pkgs nodejs npm"

want=$build_pkgs
[ "${1:-all}" = build ] || want="$want $test_pkgs"

missing=()
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "barge needs these Debian packages: ${missing[*]}" >&2
	echo "install them with:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
	apt-get update >/dev/null
	apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi

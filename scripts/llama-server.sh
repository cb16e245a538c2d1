#!/usr/bin/env bash
# llama-server.sh - builds llama.cpp's llama-server from the source that the
# npm package node-llama-cpp ships (llama/gitRelease.bundle) and makes a tiny
# random-weight GGUF model for it; both are cached, so only the first run
# builds (6 to 11 minutes on 2 cores). Prints the two paths at the end:
#
#   BARGE_LLAMA_SERVER=/path/to/llama-server
#   BARGE_LLAMA_MODEL=/path/to/tiny-llama.gguf
#
#   scripts/llama-server.sh            build what is missing, print the paths
#   set -a; eval "$(scripts/llama-server.sh)"; set +a   ... and export them
#
# The cache is ${BARGE_PEERS_CACHE:-$HOME/.cache/barge-peers}; remove its
# node-llama-cpp-* directory to rebuild. As root it installs the Debian
# packages it needs; otherwise it prints the apt-get command and exits 1.
# Everything but the two lines above goes to stderr.
set -eu
cd "$(dirname "$0")/.."
repo=$PWD

NLC_VERSION=3.21.1
cache=${BARGE_PEERS_CACHE:-$HOME/.cache/barge-peers}
dir=$cache/node-llama-cpp-$NLC_VERSION
src=$dir/llama.cpp
build=$dir/build
bin=$build/bin/llama-server
model=$dir/tiny-llama.gguf
python=${BARGE_PEERS_PYTHON:-/usr/bin/python3}
jobs=${BARGE_PEERS_JOBS:-2}

log() { echo "llama-server.sh: $*" >&2; }

# Debian packages: the compiler and cmake for the build, git for the bundle,
# numpy and yaml for llama.cpp's gguf-py (run with Debian's python3), npm
# only when no npm is on the PATH.
want="build-essential cmake git python3 python3-numpy python3-yaml"
command -v npm >/dev/null 2>&1 || want="$want npm"
missing=()
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		log "needs these Debian packages: ${missing[*]}"
		log "install them with:"
		log "  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
		exit 1
	fi
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
		apt-get update >/dev/null
		apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
	fi
fi

mkdir -p "$dir"

# The source: node-llama-cpp's bundle of llama.cpp, cloned once.
if [ ! -f "$src/CMakeLists.txt" ]; then
	bundle=$dir/npm/node_modules/node-llama-cpp/llama/gitRelease.bundle
	if [ ! -f "$bundle" ]; then
		log "npm install node-llama-cpp@$NLC_VERSION (for its llama.cpp source)"
		# No install scripts (they would fetch or build binaries) and no
		# optional prebuilt-binary packages: only the bundle is used.
		npm install --prefix "$dir/npm" --no-save --no-audit --no-fund \
			--ignore-scripts --omit=optional "node-llama-cpp@$NLC_VERSION" >&2
	fi
	rm -rf "$src"
	git -c advice.detachedHead=false clone -q "$bundle" "$src" >&2
fi

# The server: only the llama-server target, static, no web UI, no OpenSSL.
if [ ! -x "$bin" ]; then
	log "building llama-server in $build with -j$jobs (6 to 11 minutes on 2 cores)"
	t0=$(date +%s)
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
		-DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF \
		-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
		-DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON >"$dir/cmake-configure.log" 2>&1 || {
		tail -n 30 "$dir/cmake-configure.log" >&2
		exit 1
	}
	# Build into the tree, then the binary's existence marks the cache
	# complete (an interrupted build leaves no llama-server behind).
	cmake --build "$build" --target llama-server -j "$jobs" >"$dir/cmake-build.log" 2>&1 || {
		tail -n 40 "$dir/cmake-build.log" >&2
		exit 1
	}
	log "built llama-server in $(($(date +%s) - t0))s"
fi
[ -x "$bin" ] || { log "no $bin after the build"; exit 1; }

# The model: random weights, a llama-architecture GGUF written with the
# gguf-py package of the same llama.cpp tree. Rewritten when the generator
# is newer than the model.
if [ ! -s "$model" ] || [ "$repo/scripts/tiny_gguf.py" -nt "$model" ]; then
	log "writing $model"
	PYTHONPATH="$src/gguf-py" "$python" "$repo/scripts/tiny_gguf.py" "$model.tmp" >&2
	mv "$model.tmp" "$model"
fi

echo "BARGE_LLAMA_SERVER=$bin"
echo "BARGE_LLAMA_MODEL=$model"

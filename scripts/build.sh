#!/usr/bin/env bash
# Configures and builds swamp with Ninja into ${SWAMP_BUILD_DIR:-build}.
#   scripts/build.sh          everything: the swamp binary, the console, the tests, the benches
#                             (RelWithDebInfo unless CMAKE_BUILD_TYPE says otherwise)
#   scripts/build.sh --demo   only the swamp binary, what scripts/demo.sh runs: in a build dir
#                             configured before, as configured; else configured with
#                             -DSWAMP_CLI_ONLY=ON as a Release build (no debug info: half the time)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${SWAMP_BUILD_DIR:-build}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
case "${1:-}" in
"")
    cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} \
        -DSWAMP_CLI_ONLY=OFF >/dev/null
    cmake --build "$build_dir" --parallel "$(nproc)"
    ;;
--demo)
    if [ ! -f "$build_dir/CMakeCache.txt" ]; then
        cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-Release} \
            -DSWAMP_CLI_ONLY=ON >/dev/null
    fi
    cmake --build "$build_dir" --parallel "$(nproc)" --target swamp
    ;;
*)
    echo "usage: scripts/build.sh [--demo]   (unknown option \"$1\")" >&2
    exit 2
    ;;
esac

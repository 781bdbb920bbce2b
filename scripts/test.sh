#!/usr/bin/env bash
# The README's second command: installs what is missing, builds, and runs every test; then the
# unit and integration tests again under ASan and UBSan (scripts/test-sanitized.sh) and each
# fuzzer for a while (scripts/fuzz.sh). SWAMP_SKIP_SANITIZE=1 skips those two stages.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build_dir=${SWAMP_BUILD_DIR:-build}
# Tests never need a display or the network: widgets run offscreen, servers on 127.0.0.1.
export QT_QPA_PLATFORM=offscreen
# install-deps.sh installs PostgreSQL, so its tests run for real here: missing binaries fail them.
export SWAMP_REQUIRE_POSTGRES=1
ctest --test-dir "$build_dir" --output-on-failure --parallel 2 --timeout 600 "$@"
if [ "${SWAMP_SKIP_SANITIZE:-0}" != 1 ]; then
    scripts/test-sanitized.sh
    scripts/fuzz.sh
fi

#!/usr/bin/env bash
# The unit and integration tests (ctest labels `unit` and `integration`) again, built with
# -DSWAMP_SANITIZE=ON (AddressSanitizer, LeakSanitizer, UBSan) into ${SWAMP_ASAN_BUILD_DIR:-build-asan},
# only the targets those tests need. Fails on a failed test and on any sanitizer report, also one
# of a process that no test waited for (see tests/CMakeLists.txt). scripts/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${SWAMP_ASAN_BUILD_DIR:-build-asan}
labels='^(unit|integration)$'
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# -O1 with line tables only: about half the compile time of -O2 -g; reports still name lines.
cmake -S . -B "$build_dir" -G Ninja -DSWAMP_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" >/dev/null
# Every test is made by swamp_add_test(<name>) as the target tst_<name>.
targets=(swamp swamp-alt-version)
for name in $(ctest --test-dir "$build_dir" -N -L "$labels" | sed -n 's/^ *Test *#[0-9]*: //p'); do
    targets+=("tst_$name")
done
cmake --build "$build_dir" --parallel "$(nproc)" --target "${targets[@]}"

reports="$build_dir/sanitizer-reports"
mkdir -p "$reports"
rm -f "$reports"/*
export QT_QPA_PLATFORM=offscreen
export SWAMP_REQUIRE_POSTGRES=1
status=0
ctest --test-dir "$build_dir" -L "$labels" --output-on-failure --parallel 2 --timeout 600 || status=$?
if compgen -G "$reports/*" >/dev/null; then
    for report in "$reports"/*; do
        echo "=== sanitizer report $report"
        cat "$report"
    done
    echo "error: sanitizer reports in $reports (above)" >&2
    status=1
fi
exit "$status"

#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang 16 into ${SWAMP_FUZZ_BUILD_DIR:-build-fuzz} and runs
# each for ${SWAMP_FUZZ_SECONDS:-30} seconds, starting from its checked-in seeds (a copy: new
# inputs are not kept). Fails when one finds something, printing the input in hex. Without
# clang++-16 and libclang-rt-16-dev it says so and succeeds: CI does not install them (their build
# would take it past its 20 minutes; the seeds are replayed there by the fuzz_replay_* tests).
# scripts/test.sh runs it; docs/protocol.md ("Fuzzing") says how to run one for longer.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang++-16 >/dev/null || ! compgen -G "/usr/lib/llvm-16/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null; then
    echo "fuzz: clang++-16 with libclang-rt-16-dev is not installed; the fuzzers are not run"
    exit 0
fi
build_dir=${SWAMP_FUZZ_BUILD_DIR:-build-fuzz}
seconds=${SWAMP_FUZZ_SECONDS:-30}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# libstdc++ 12's <expected> needs clang to claim C++20 concepts (docs/query.md, "Fuzzing").
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++-16 -DSWAMP_FUZZ=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
      -DCMAKE_CXX_FLAGS="-D__cpp_concepts=202002L -Wno-macro-redefined" >/dev/null
harnesses=(query websocket frames worker admin)
cmake --build "$build_dir" --parallel "$(nproc)" --target "${harnesses[@]/#/fuzz_}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)}
status=0
for name in "${harnesses[@]}"; do
    if [ "$name" = query ]; then
        binary=$build_dir/tests/query/fuzz/fuzz_query
        seeds=tests/query/fuzz/corpus
        flags=(-max_len=4200)
    else
        binary=$build_dir/tests/fuzz/fuzz_$name
        seeds=tests/fuzz/corpus/$name
        flags=(-dict="$PWD/tests/fuzz/$name.dict")
    fi
    mkdir -p "$work/$name/corpus"
    cp "$seeds"/* "$work/$name/corpus/"
    # Leaks are looked for once, at exit: per input they cost more than the input (the
    # orchestrator harnesses keep state from one input to the next).
    if (cd "$work/$name" && "$OLDPWD/$binary" corpus "${flags[@]}" -max_total_time="$seconds" \
            -timeout=20 -rss_limit_mb=3072 -detect_leaks=0 -print_final_stats=1) >"$work/$name.log" 2>&1; then
        echo "fuzz_$name: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$') inputs in ${seconds}s, nothing found"
    else
        status=1
        tail -n 60 "$work/$name.log"
        for input in "$work/$name"/crash-* "$work/$name"/timeout-* "$work/$name"/oom-* "$work/$name"/leak-*; do
            [ -e "$input" ] || continue
            echo "fuzz_$name found $(basename "$input"); the input (reproduce with: fuzz_$name <file>):"
            od -An -tx1 -v "$input"
        done
        echo "error: fuzz_$name found something (above)" >&2
    fi
done
exit "$status"

#!/usr/bin/env bash
# scripts/check-layers.sh must refuse a tree that breaks the dependency rule, name the line and
# the rule, and accept the same tree once the offending include is gone.
set -euo pipefail
check=$1
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree"/core/{common,model,server/transport,worker} "$tree"/console-gui
printf '#pragma once\n' >"$tree"/core/common/result.h
printf '#include "common/result.h"\n' >"$tree"/core/model/step.h
printf '#include "model/step.h"\n#include "worker/runner.h"\n' >"$tree"/core/server/transport/peer.cpp
printf '#include "model/step.h"\n' >"$tree"/core/worker/runner.h
printf '#include "model/step.h"\n' >"$tree"/console-gui/view.cpp

expect_refusal() {
    local what=$1 pattern=$2 out
    if out=$("$check" "$tree" 2>&1); then
        echo "FAIL: $what was accepted: $out"; exit 1
    fi
    if ! grep -qE "$pattern" <<<"$out"; then
        echo "FAIL: $what: the refusal does not say '$pattern': $out"; exit 1
    fi
    echo "ok: $what refused"
}

expect_refusal "server including worker" \
    'core/server/transport/peer.cpp:2 includes worker/: core/server/ may include only'
sed -i '/worker/d' "$tree"/core/server/transport/peer.cpp

printf '#include "server/transport/peer.h"\n' >>"$tree"/core/model/step.h
expect_refusal "model including server" 'core/model/step.h:2 includes server/'
expect_refusal "a cycle between folders" 'cycle'
sed -i '/server/d' "$tree"/core/model/step.h

printf '#include "worker/runner.h"\n' >>"$tree"/console-gui/view.cpp
expect_refusal "the console including worker" 'console-gui/view.cpp:2: console-gui/ must not include worker/'
sed -i '/worker/d' "$tree"/console-gui/view.cpp

printf 'auto q = "SELECT name FROM workers WHERE id = ?";\n' >>"$tree"/core/server/transport/peer.cpp
expect_refusal "SQL outside the store" 'core/server/transport/peer.cpp:2: SQL outside core/store/'
sed -i '/SELECT/d' "$tree"/core/server/transport/peer.cpp

mkdir "$tree"/core/newthing
expect_refusal "a folder missing from the table" 'core/newthing/ is not in the layer table'
rmdir "$tree"/core/newthing

out=$("$check" "$tree") || { echo "FAIL: a clean tree was refused: $out"; exit 1; }
echo "ok: the clean tree is accepted: $out"

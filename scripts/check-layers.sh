#!/usr/bin/env bash
# Checks the dependency rule of core/ (docs/architecture.md, "Layers") from the #include lines:
#   common, version        the base: include nothing of core
#   model                  records and pure rules: common only
#   protocol, tls, query   the wire, TLS files, the query language: common and model
#   store                  the database: the model, the query language, version
#   client, worker         the operator's and the machine's side: model, protocol, tls, version
#   server                 the orchestrator: everything but client and worker
# and that no core folder includes server/ (only the executables and tests do), that the console
# includes neither server/, store/ nor worker/, and that the folders have no cycle.
# Exits 1 naming each offending line and the rule it breaks. ctest runs it (test "layers"), and
# tests/unit/check_layers_test.sh checks that it fails on a tree that breaks the rule.
# Usage: scripts/check-layers.sh [source root]   (default: this checkout)
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

declare -A allowed=(
    [common]=""
    [version]=""
    [model]="common"
    [protocol]="common model version"
    [tls]="common"
    [query]="common model"
    [store]="common model protocol query version"
    [client]="common model protocol tls version"
    [worker]="common model protocol tls version"
    [server]="common model protocol query store tls version"
)
# Outside core/: what each executable's folder must not include.
declare -A forbidden=(
    [console-gui]="server store worker"
)

failed=0
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT

for dir in core/*/; do
    folder=$(basename "$dir")
    if [[ ! -v allowed[$folder] ]]; then
        echo "check-layers: core/$folder/ is not in the layer table: add it to scripts/check-layers.sh" \
             "and docs/architecture.md with the folders it may include" >&2
        failed=1
        continue
    fi
    while IFS=: read -r file line target; do
        [[ $target == "$folder" ]] && continue
        [[ -d core/$target ]] || continue
        echo "$folder $target" >>"$edges"
        if [[ " ${allowed[$folder]} " != *" $target "* ]]; then
            echo "check-layers: $file:$line includes $target/: core/$folder/ may include only" \
                 "${allowed[$folder]:-nothing of core}" >&2
            failed=1
        fi
    done < <(grep -rnoE '^#include "[a-z_-]+/' "$dir" --include='*.h' --include='*.cpp' \
                 | sed -E 's|^([^:]+):([0-9]+):#include "([a-z_-]+)/$|\1:\2:\3|')
done

for folder in "${!forbidden[@]}"; do
    for target in ${forbidden[$folder]}; do
        while IFS=: read -r file line _; do
            echo "check-layers: $file:$line: $folder/ must not include $target/ (use core/client or core/model)" >&2
            failed=1
        done < <(grep -rnE "^#include \"$target/" "$folder" --include='*.h' --include='*.cpp' || true)
    done
done

# SQL lives in core/store/ only: the others name what they want (store/namedqueries.cpp).
while IFS=: read -r file line _; do
    echo "check-layers: $file:$line: SQL outside core/store/: add a named query to the store" \
         "(core/store/namedqueries.cpp) and call it" >&2
    failed=1
done < <(grep -rnE '"[^"]*\b(SELECT|INSERT INTO|DELETE FROM|UPDATE [a-z_]+ SET|WHERE|ORDER BY|GROUP BY|PRAGMA)\b' \
             core --include='*.h' --include='*.cpp' | grep -v '^core/store/' || true)

# A cycle between folders (possible only if the table above allows one) fails too.
if ! sort -u "$edges" | tsort >/dev/null 2>"$edges.err"; then
    echo "check-layers: the core folders include each other in a cycle:" >&2
    sed 's/^/  /' "$edges.err" >&2
    failed=1
fi
rm -f "$edges.err"

if [[ $failed == 0 ]]; then
    echo "check-layers: core/ keeps its dependency rule ($(sort -u "$edges" | wc -l) folder edges, no cycle)"
fi
exit "$failed"

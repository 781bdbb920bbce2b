#!/usr/bin/env bash
# Installs what swamp needs to build and test, from Debian's packages only.
#   scripts/install-deps.sh          everything: the console, the tests, the packages, the benches
#   scripts/install-deps.sh --demo   only what scripts/demo.sh builds and runs: the `swamp` binary
#                                    (cmake -DSWAMP_CLI_ONLY=ON) and the SQLite driver it loads
set -euo pipefail
demo=(cmake ninja-build g++
      qt6-base-dev qt6-websockets-dev libqt6sql6-sqlite  # Qt of the core and the CLI
      libssl-dev libsqlite3-dev libpq-dev)               # what core/ links besides Qt
all=("${demo[@]}" ccache pkg-config libqt6sql6-psql
     qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools libgl-dev  # the console and its translations
     qt6-translations-l10n                     # qtbase_de.qm: the console's Cancel/Close in German
     postgresql pgbouncer xvfb xauth openssl   # pgbouncer: tst_pgbouncer puts one in front
     dpkg-dev file lintian desktop-file-utils  # packages: dpkg-shlibdeps (cpack's DEB generator
                                               # needs file(1)), their checks
     systemd python3-yaml adduser              # the deploy recipe tests
     iproute2                                  # ip and tc: the network partition test
     zsh fish groff-base mandoc)               # the completion scripts' and man pages' tests
case "${1:-}" in
"") packages=("${all[@]}") ;;
--demo) packages=("${demo[@]}") ;;
*)
    echo "usage: scripts/install-deps.sh [--demo]   (unknown option \"$1\")" >&2
    exit 2
    ;;
esac
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

#!/usr/bin/env bash
# Installs what swamp needs to build and test, from Debian's packages only.
set -euo pipefail
packages=(cmake ninja-build g++ ccache pkg-config
          qt6-base-dev qt6-websockets-dev libqt6sql6-sqlite libqt6sql6-psql
          qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools libgl-dev
          postgresql libpq-dev xvfb xauth openssl libssl-dev libsqlite3-dev
          dpkg-dev file systemd python3-yaml adduser  # packages (dpkg-shlibdeps; cpack's DEB generator
                                                   # needs file(1)), the deploy recipe tests
          iproute2                         # ip and tc: the network partition test
          zsh fish groff-base mandoc)      # the completion scripts' and man pages' tests
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

#!/usr/bin/env bash
# Installs what DIDACTO needs on a Debian/Ubuntu machine, once: system packages
# (apt-get when root, otherwise prints the one command to run), Go modules and
# the npm test driver. Used by `make run`, `make test` and CI.
#   scripts/setup.sh run    -> only what the server needs
#   scripts/setup.sh test   -> everything the test suite needs (default)
set -euo pipefail
cd "$(dirname "$0")/.."
want=${1:-test}

run_pkgs=(ca-certificates)
build_pkgs=(gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev
  libxi-dev libxxf86vm-dev libxtst-dev libpng-dev libegl-dev libgles-dev libvpx-dev libopus-dev
  gcc-mingw-w64-x86-64-posix g++-mingw-w64-x86-64-posix nasm dpkg-dev wixl msitools osslsigncode)
test_pkgs=(xvfb xdotool xterm x11-xserver-utils x11-utils dbus-x11 gnome-keyring libsecret-tools
  chromium redis-server postgresql nodejs npm systemd openssl pulseaudio pulseaudio-utils fonts-nanum wine64)

pkgs=("${run_pkgs[@]}")
[ "$want" = run ] || pkgs+=("${build_pkgs[@]}" "${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node may come from elsewhere than Debian (e.g. NodeSource): accept any node+npm on PATH.
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || tmp+=("$p"); done
  missing=("${tmp[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages. Run:"
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
fi

command -v go >/dev/null || { echo "setup: Go 1.26+ is required (https://go.dev/dl/)"; exit 1; }
go mod download

if [ "$want" != run ] && [ -f tests/e2e/package.json ] && [ ! -d tests/e2e/node_modules/playwright-core ]; then
  # Only the driver: browsers are never downloaded, tests use /usr/bin/chromium.
  (cd tests/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
fi

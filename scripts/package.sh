#!/usr/bin/env bash
# Builds the packages lab admins deploy (README "Deploying in a lab"):
#   scripts/package.sh [all]     Linux agent + server .deb, Windows .exe + .msi
#   scripts/package.sh agent-deb | server-deb | windows
#   scripts/package.sh macos     on a macOS machine only: .app, .dmg and .pkg
# Output goes to $OUT (default dist/). Every artifact carries the version from
# `git describe` (override with VERSION=…). Signing of the Windows .exe and
# .msi: set SIGN_CERT (PEM certificate chain) and SIGN_KEY (PEM private key,
# SIGN_PASS if encrypted); osslsigncode signs with SHA-256.
# Tools and the mingw-w64 libvpx and libopus are cached under dist/cache (kept by `make`).
set -euo pipefail
shopt -s inherit_errexit # a failing build inside $(…) stops the script too
cd "$(dirname "$0")/.."
root=$PWD
target=${1:-all}
OUT=${OUT:-dist}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cache=$root/dist/cache
build=$OUT/build
mkdir -p "$cache" "$build/linux" "$build/windows"

NFPM_VERSION=v2.45.0
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
LDVER="-X github.com/didacto/didacto/internal/version.Version=$VERSION"

# Debian versions must start with a digit: v1.2.3-4-gabc-dirty ->
# 1.2.3+4.gabc.dirty; an untagged tree -> 0.0.0+git.<describe>.
deb_version() {
  local v=${VERSION#v}
  if [[ $v =~ ^[0-9]+(\.[0-9]+)+([.~+][0-9A-Za-z.~+]*)?(-.*)?$ ]]; then
    local base=${v%%-*} rest=
    [[ $v == *-* ]] && rest=+$(echo "${v#*-}" | tr -- '-_' '..')
    echo "$base$rest"
  else
    echo "0.0.0+git.$(echo "$v" | tr -- '-_' '..')"
  fi
}
# MSI versions are numeric (major.minor.build, each bounded) and must grow for
# MajorUpgrade to replace an older install: the tag's numbers, or 0.0.<commits>.
msi_version() {
  local v=${VERSION#v}
  if [[ $v =~ ^([0-9]+)\.([0-9]+)\.([0-9]+) ]]; then
    echo "${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.${BASH_REMATCH[3]}"
  else
    echo "0.0.$(($(git rev-list --count HEAD 2>/dev/null || echo 0) % 65535))"
  fi
}

nfpm_bin() {
  local bin=$cache/tools/nfpm-$NFPM_VERSION
  if [ ! -x "$bin" ]; then
    mkdir -p "$cache/tools/tmp"
    GOBIN=$cache/tools/tmp go install "github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION"
    mv "$cache/tools/tmp/nfpm" "$bin"
  fi
  echo "$bin"
}

# render IN OUT NAME=value…: the nfpm config with each ${NAME} replaced (nfpm
# expands the environment in a few fields only, not in contents' paths).
render() {
  local in=$1 out=$2 text kv
  shift 2
  text=$(cat "$in")
  for kv in "$@"; do text=${text//"\${${kv%%=*}}"/${kv#*=}}; done
  if [[ $text =~ \$\{[A-Z_]+\} ]]; then echo "render $in: ${BASH_REMATCH[0]} unset" >&2; return 1; fi
  printf '%s\n' "$text" >"$out"
}

# The Debian package that ships the shared library behind a -dev symlink, so
# Depends names the right soname package on this distribution release.
lib_pkg() {
  local so
  so=$(readlink -f "$(gcc -print-file-name="$1")")
  dpkg-query -S "$so" | head -1 | cut -d: -f1
}

agent_deb() {
  echo "== linux agent $VERSION"
  go build -trimpath -ldflags "-s -w $LDVER" -o "$build/linux/didacto-agent" ./cmd/didacto-agent
  render packaging/linux/agent.nfpm.yaml "$build/agent.nfpm.yaml" \
    DEB_VERSION="$(deb_version)" BUILD="$build" VPX_PKG="$(lib_pkg libvpx.so)" OPUS_PKG="$(lib_pkg libopus.so)"
  "$(nfpm_bin)" package --config "$build/agent.nfpm.yaml" --packager deb \
    --target "$OUT/didacto-agent_$(deb_version)_amd64.deb"
}

server_deb() {
  echo "== linux server $VERSION"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $LDVER" -o "$build/linux/didacto-server" ./cmd/didacto-server
  render packaging/linux/server.nfpm.yaml "$build/server.nfpm.yaml" DEB_VERSION="$(deb_version)" BUILD="$build"
  "$(nfpm_bin)" package --config "$build/server.nfpm.yaml" --packager deb \
    --target "$OUT/didacto-server_$(deb_version)_amd64.deb"
}

# A C library for mingw-w64, from Debian's own source package (the same
# version as its -dev package here, with Debian's security patches), built
# once into the cache: mingw_lib SRCPKG DEVPKG PCNAME CONFIGURE-ARGS…
# prints the install prefix. CONFIGURE-ARGS are the cross-build flags of
# the library's own configure script.
mingw_lib() {
  local srcpkg=$1 devpkg=$2 pc=$3 ver prefix src
  shift 3
  ver=$(dpkg-query -W -f='${source:Version}' "$devpkg")
  prefix=$cache/$srcpkg-$ver-mingw64
  # One build at a time: `make test` runs tests/packaging and tests/integration
  # (the Wine tests) in parallel, and both call this script; on a cold cache
  # they would build into the same directories. The lock goes with this
  # function's subshell, $(…).
  exec {lock}>"$cache/$srcpkg-mingw64.lock"
  flock "$lock"
  if [ -f "$prefix/lib/pkgconfig/$pc.pc" ]; then echo "$prefix"; return; fi
  src=$cache/src/$srcpkg-$ver
  rm -rf "$src" && mkdir -p "$src/apt/lists/partial" && (
    cd "$src"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $(. /etc/os-release && echo "$VERSION_CODENAME") main" >apt/sources.list
    opts=(-o "Dir::Etc::SourceList=$src/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$src/apt/lists")
    apt-get "${opts[@]}" update -qq
    apt-get "${opts[@]}" source --download-only "$srcpkg=$ver" >/dev/null
    dpkg-source -x ./"${srcpkg}"_*.dsc tree >/dev/null
    mkdir build && cd build
    ../tree/configure --prefix="$prefix" "$@" >configure.log 2>&1 || { tail -30 configure.log >&2; exit 1; }
    make -j"$(nproc)" >make.log 2>&1 || { tail -30 make.log >&2; exit 1; }
    make install >/dev/null
  ) >&2
  rm -rf "$src"
  [ -f "$prefix/lib/pkgconfig/$pc.pc" ] || { echo "package.sh: building $srcpkg for mingw-w64 left no $pc.pc" >&2; return 1; }
  sed -i "s|^prefix=.*|prefix=$prefix|" "$prefix/lib/pkgconfig/$pc.pc"
  echo "$prefix"
}

mingw_libvpx() {
  CROSS=x86_64-w64-mingw32- mingw_lib libvpx libvpx-dev vpx --target=x86_64-win64-gcc \
    --as=nasm --enable-vp8 --disable-vp9 --enable-static --disable-shared \
    --disable-examples --disable-tools --disable-docs --disable-unit-tests
}

# No fortified memcpy (__memcpy_chk needs libssp, which the .exe would
# then have to link) and no stack protector, as in the libvpx build.
mingw_libopus() {
  CPPFLAGS=-D_FORTIFY_SOURCE=0 mingw_lib opus libopus-dev opus --host=x86_64-w64-mingw32 --enable-static --disable-shared \
    --disable-doc --disable-extra-programs --disable-stack-protector
}

# An .ico holding the 256x256 PNG as is (Windows Vista and later read it).
png_to_ico() {
  local n
  n=$(stat -c %s "$1")
  {
    printf '\x00\x00\x01\x00\x01\x00\x00\x00\x00\x00\x01\x00\x20\x00'
    printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)) $((n >> 24 & 255)))"
    printf '\x16\x00\x00\x00'
    cat "$1"
  } >"$2"
}

sign() { # sign IN OUT
  local pass=()
  [ -n "${SIGN_PASS:-}" ] && pass=(-pass "$SIGN_PASS")
  osslsigncode sign -certs "$SIGN_CERT" -key "$SIGN_KEY" "${pass[@]}" -h sha256 \
    -n "DIDACTO Agent" -i https://github.com/didacto/didacto -in "$1" -out "$2" >/dev/null
}

windows() {
  echo "== windows agent $VERSION"
  local w=$build/windows env=(CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc CXX=x86_64-w64-mingw32-g++)
  # The agent's C libraries, cross-built, found through pkg-config.
  local deps prefixes=() pcdirs=()
  deps=$(env "${env[@]}" go list -deps ./cmd/didacto-agent)
  if grep -qx 'github.com/didacto/didacto/rtc/vp8' <<<"$deps"; then prefixes+=("$(mingw_libvpx)"); fi
  if grep -qx 'github.com/didacto/didacto/rtc/opus' <<<"$deps"; then prefixes+=("$(mingw_libopus)"); fi
  if [ ${#prefixes[@]} -gt 0 ]; then
    local pcpath p cflags="-O2 -g" ldflags="-O2 -g"
    for p in "${prefixes[@]}"; do
      pcdirs+=("$p/lib/pkgconfig")
      cflags+=" -I$p/include"
      ldflags+=" -L$p/lib"
    done
    pcpath=$(IFS=:; echo "${pcdirs[*]}")
    # The same directories in CGO_CFLAGS/CGO_LDFLAGS as well: go's build
    # cache does not key on pkg-config's output, so without them a cached
    # package built from another checkout links against that checkout's
    # (maybe deleted) library directory.
    env+=(PKG_CONFIG_LIBDIR="$pcpath" PKG_CONFIG_PATH="$pcpath" CGO_CFLAGS="$cflags" CGO_LDFLAGS="$ldflags")
  fi
  # -extldflags=-static: winpthread and libgcc go into the .exe, which then
  # imports only Windows' own DLLs.
  env "${env[@]}" go build -trimpath -ldflags "-s -w -H windowsgui -extldflags=-static $LDVER" \
    -o "$w/didacto-agent.exe" ./cmd/didacto-agent
  if [ -n "${SIGN_CERT:-}" ]; then
    sign "$w/didacto-agent.exe" "$w/didacto-agent.signed.exe"
    mv "$w/didacto-agent.signed.exe" "$w/didacto-agent.exe"
  fi
  cp "$w/didacto-agent.exe" "$OUT/didacto-agent_${VERSION}_windows_amd64.exe"
  png_to_ico assets/app.png "$w/didacto-agent.ico"
  cp packaging/windows/didacto-agent.wxs "$w/"
  # wixl wants source paths relative to the .wxs.
  (cd "$w" && wixl -a x64 -D Version="$VERSION" -D ProductVersion="$(msi_version)" \
    -D ExePath=didacto-agent.exe -D IconPath=didacto-agent.ico -o didacto-agent.msi didacto-agent.wxs)
  if [ -n "${SIGN_CERT:-}" ]; then
    sign "$w/didacto-agent.msi" "$OUT/didacto-agent_${VERSION}_windows_amd64.msi"
  else
    cp "$w/didacto-agent.msi" "$OUT/didacto-agent_${VERSION}_windows_amd64.msi"
  fi
}

macos() {
  [ "$(uname -s)" = Darwin ] || { echo "package.sh macos: needs a macOS machine (clang, the SDK, hdiutil)" >&2; exit 1; }
  VERSION=$VERSION OUT=$OUT packaging/macos/build.sh
}

case "$target" in
all) agent_deb; server_deb; windows ;;
linux) agent_deb; server_deb ;;
agent-deb) agent_deb ;;
server-deb) server_deb ;;
windows) windows ;;
macos) macos ;;
*) echo "usage: $0 [all|linux|agent-deb|server-deb|windows|macos]" >&2; exit 2 ;;
esac
echo "== packages in $OUT:"
ls -1 "$OUT" | grep -v '^build$' | grep -v '^cache$' || true

#!/usr/bin/env bash
# The macOS recipe (called by `scripts/package.sh macos` on a Mac, e.g. the
# macos.yml CI workflow): the agent binary with the version stamped, the
# .app bundle (fyne package), a .dmg for people (hdiutil) and a .pkg for
# silent installs (pkgbuild), which also installs the LaunchAgent and the
# system config template in /Library/Application Support/Didacto.
# Env: VERSION, OUT (from package.sh); optional MACOS_SIGN_APP and
# MACOS_SIGN_PKG (codesign / productsign identities); GOARCH (default: host).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${VERSION:?}" "${OUT:?}"
FYNE_TOOLS_VERSION=v1.7.4
work=$OUT/build/macos
rm -rf "$work" && mkdir -p "$work/bin"
app="DIDACTO Agent.app"
icon=$PWD/assets/app.png

# libvpx statically, when the agent links rtc/vp8: a Homebrew dylib would not
# exist on lab Macs.
if go list -deps ./cmd/didacto-agent | grep -qx 'github.com/didacto/didacto/rtc/vp8'; then
  vpx=$work/libvpx
  git clone -q --depth 1 --branch v1.12.0 https://chromium.googlesource.com/webm/libvpx "$work/libvpx-src"
  (cd "$work/libvpx-src" && ./configure --prefix="$vpx" --enable-vp8 --disable-vp9 --enable-static \
    --disable-shared --disable-examples --disable-tools --disable-docs --disable-unit-tests >/dev/null &&
    make -j"$(sysctl -n hw.ncpu)" >/dev/null && make install >/dev/null)
  export PKG_CONFIG_PATH=$vpx/lib/pkgconfig
fi
# libopus statically too, when the agent links rtc/opus (live-session voice).
if go list -deps ./cmd/didacto-agent | grep -qx 'github.com/didacto/didacto/rtc/opus'; then
  opus=$work/opus
  git clone -q --depth 1 --branch v1.3.1 https://github.com/xiph/opus "$work/opus-src"
  cmake -S "$work/opus-src" -B "$work/opus-build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$opus" \
    -DBUILD_SHARED_LIBS=OFF -DOPUS_BUILD_PROGRAMS=OFF -DOPUS_STACK_PROTECTOR=OFF >/dev/null
  cmake --build "$work/opus-build" -j"$(sysctl -n hw.ncpu)" >/dev/null && cmake --install "$work/opus-build" >/dev/null
  export PKG_CONFIG_PATH=$opus/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
fi

CGO_ENABLED=1 go build -trimpath \
  -ldflags "-s -w -X github.com/didacto/didacto/internal/version.Version=$VERSION" \
  -o "$work/bin/didacto-agent" ./cmd/didacto-agent

GOBIN=$work/tools go install "fyne.io/tools/cmd/fyne@$FYNE_TOOLS_VERSION"
short=$(echo "${VERSION#v}" | grep -Eo '^[0-9]+\.[0-9]+\.[0-9]+' || echo 0.0.0)
build=$(git rev-list --count HEAD)
(cd "$work" && "$work/tools/fyne" package --target darwin --executable bin/didacto-agent \
  --name "DIDACTO Agent" --app-id edu.didacto.agent --app-version "$short" --app-build "$build" \
  --icon "$icon" --release)
plist="$work/$app/Contents/Info.plist"
# A tray app: no Dock icon. The full git version for support requests.
/usr/libexec/PlistBuddy -c "Add :LSUIElement bool true" "$plist" 2>/dev/null ||
  /usr/libexec/PlistBuddy -c "Set :LSUIElement true" "$plist"
/usr/libexec/PlistBuddy -c "Add :DidactoVersion string $VERSION" "$plist"
# macOS asks the student before the microphone is used; without this key
# it refuses and the session goes on without the student's voice.
/usr/libexec/PlistBuddy -c "Add :NSMicrophoneUsageDescription string DIDACTO sends your voice to your professor during a live session." "$plist"
if [ -n "${MACOS_SIGN_APP:-}" ]; then
  codesign --force --options runtime --timestamp --sign "$MACOS_SIGN_APP" "$work/$app"
fi

# .dmg: the app and an /Applications link to drag it onto.
mkdir -p "$work/dmg"
cp -R "$work/$app" "$work/dmg/"
ln -s /Applications "$work/dmg/Applications"
hdiutil create -volname "DIDACTO Agent" -srcfolder "$work/dmg" -ov -format UDZO \
  "$OUT/didacto-agent_${VERSION}_macos.dmg"

# .pkg: app, LaunchAgent, config template; `sudo installer -pkg … -target /`.
root=$work/pkgroot
mkdir -p "$root/Applications" "$root/Library/LaunchAgents" "$root/Library/Application Support/Didacto"
cp -R "$work/$app" "$root/Applications/"
cp packaging/macos/edu.didacto.agent.plist "$root/Library/LaunchAgents/"
cp packaging/macos/agent.yaml "$root/Library/Application Support/Didacto/agent.yaml.default"
pkgbuild --root "$root" --scripts packaging/macos/scripts --identifier edu.didacto.agent \
  --version "$short" --install-location / "$work/didacto-agent.pkg"
if [ -n "${MACOS_SIGN_PKG:-}" ]; then
  productsign --sign "$MACOS_SIGN_PKG" "$work/didacto-agent.pkg" "$OUT/didacto-agent_${VERSION}_macos.pkg"
else
  cp "$work/didacto-agent.pkg" "$OUT/didacto-agent_${VERSION}_macos.pkg"
fi

#!/usr/bin/env bash
# make lint: gofmt, go vet for linux, and for windows and darwin every package
# that builds there without cgo (the cgo ones need the target's C toolchain
# and libraries: the packaging tests cross-build and run those), then
# staticcheck (pinned) for linux.
set -euo pipefail
cd "$(dirname "$0")/.."
STATICCHECK_VERSION=v0.8.2

bad=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$bad" ]; then
  echo "lint: not gofmt'ed:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "lint: go vet (linux)"
go vet ./...
for os in windows darwin; do
  # Packages that need no cgo for $os, tests included: neither they nor
  # anything they (or their tests) import has cgo files there.
  cgo=$(GOOS=$os CGO_ENABLED=1 go list -e -deps -test -f '{{if .CgoFiles}}{{.ImportPath}}{{end}}' ./... | sort -u)
  mapfile -t pkgs < <(GOOS=$os CGO_ENABLED=1 go list -e -test -f '{{.ImportPath}} {{join .Deps " "}}' ./... |
    awk -v cgo="$cgo" 'BEGIN { n = split(cgo, c, "\n"); for (i = 1; i <= n; i++) bad[c[i]] = 1 }
      $1 ~ /\.test$/ { next }
      { seen[$1] = 1; for (i = 1; i <= NF; i++) if ($i in bad) skip[$1] = 1 }
      END { for (k in seen) if (!(k in skip) && k !~ /_test$/) print k }' | sort)
  echo "lint: go vet ($os, ${#pkgs[@]} packages without cgo)"
  GOOS=$os CGO_ENABLED=0 go vet "${pkgs[@]}"
done
echo "lint: staticcheck $STATICCHECK_VERSION (linux)"
go run "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" ./...

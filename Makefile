# DIDACTO — `make run` starts the server on the embedded defaults; `make test`
# runs everything. Both install missing system packages first.
GO      ?= go
# make run ADDR=127.0.0.1:9090, or DIDACTO_ADDR=127.0.0.1:9090 make run (the
# server's own variable; ADDR wins when both are given).
ADDR    ?= $(or $(DIDACTO_ADDR),127.0.0.1:8080)
DATA    ?= ./data
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/didacto/didacto/internal/version.Version=$(VERSION)

.PHONY: run test bench lint package package-macos build setup clean

run:
	@scripts/setup.sh run
	CGO_ENABLED=0 $(GO) run -ldflags '$(LDFLAGS)' ./cmd/didacto-server --addr $(ADDR) --data-dir $(DATA) --demo

test:
	@scripts/setup.sh test
	scripts/test.sh

bench:
	@scripts/setup.sh test
	scripts/bench.sh

lint:
	scripts/lint.sh

build:
	mkdir -p bin
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o bin/didacto-server ./cmd/didacto-server
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/didacto-agent ./cmd/didacto-agent

package:
	@scripts/setup.sh test
	scripts/package.sh

# On a Mac (the macos CI workflow): the .app, .dmg and .pkg.
package-macos:
	scripts/package.sh macos

clean:
	rm -rf bin dist

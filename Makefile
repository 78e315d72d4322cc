# Every module of the repository: the root and the nested ones, whose
# packages `go test ./...` at the root does not reach.
MODULE_DIRS := $(shell find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort)

TOOLS := $(CURDIR)/.bin
STATICCHECK := $(TOOLS)/staticcheck
STATICCHECK_VERSION := v0.8.2

.PHONY: test lint bench chaos

# test runs every test of every module with the race detector.
test:
	@set -e; for dir in $(MODULE_DIRS); do \
		echo "== go test -race ($$dir)"; \
		(cd $$dir && go test -race -count=1 ./...); \
	done

# lint checks that no build output is tracked, then formatting, vet,
# staticcheck and go.mod tidiness in every module.
lint: $(STATICCHECK)
	@ignored=$$(git ls-files -ci --exclude-standard); if [ -n "$$ignored" ]; then \
		echo "tracked files that .gitignore excludes:"; echo "$$ignored"; exit 1; fi
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then \
		echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	@set -e; for dir in $(MODULE_DIRS); do \
		echo "== vet, staticcheck, tidy ($$dir)"; \
		(cd $$dir && go vet ./... && $(STATICCHECK) ./... && go mod tidy -diff); \
	done

# chaos runs natsbus's fault suite for many seeds; odd seeds publish in
# confirm mode, even seeds pipelined.
SEEDS ?= 1 2 3 4 5 6 7 8 9 10
DURATION ?= 60s
chaos:
	cd natsbus && NATSBUS_CHAOS_SEEDS="$(SEEDS)" NATSBUS_CHAOS_DURATION=$(DURATION) \
		go test -race -count=1 -timeout 0 -run '^TestChaos$$' -v .

# bench runs the comparison with other event buses and prints a benchstat table.
bench:
	./benchmarks/run

$(STATICCHECK):
	GOBIN=$(TOOLS) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

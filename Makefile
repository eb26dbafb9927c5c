# Every target sets itself up on a fresh machine: Debian packages, Redis, Terraform and the
# AWS emulator are installed and started by scripts/ when missing.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/eventdriven/target
export CARGO_TERM_COLOR ?= never
DEBUG_BIN := $(CARGO_TARGET_DIR)/debug
RELEASE_BIN := $(CARGO_TARGET_DIR)/release

.PHONY: demo test acceptance-test bench tools clean

## Run the order example locally on embedded defaults (no AWS, no Redis server).
demo: tools
	cargo build -p eventdriven-runtime --bin eventdriven
	mkdir -p .eventdriven
	$(DEBUG_BIN)/eventdriven run \
	  --input examples/order-batch/payload/test.csv \
	  --output .eventdriven/test.result.csv \
	  --table .eventdriven/orders.table \
	  --max-lines-per-batch 250
	@echo "first rows of the result:"; head -n 4 .eventdriven/test.result.csv
	@echo "orders in the embedded table: $$($(DEBUG_BIN)/eventdriven orders count --table .eventdriven/orders.table)"

## All tests: unit and integration tests (a real Redis server, the AWS emulator), every IAM
## policy through parliament, every state machine definition through asl-validator, the
## Terraform modules through terraform fmt, the Python and TypeScript listener helpers' tests,
## then the provider acceptance tests (a real Terraform against the emulator).
test: tools
	scripts/ensure-redis.sh
	scripts/ensure-fakecloud.sh
	scripts/ensure-lambda-runtimes.sh
	scripts/ensure-browser.sh
	PATH="$(HOME)/.cargo/bin:$$PATH" cargo test --workspace --no-fail-fast
	tests/iam-lint.sh
	tests/asl-validate.sh
	tests/terraform-fmt.sh
	tests/listener-helpers.sh
	tests/acceptance.sh

acceptance-test: tools
	tests/acceptance.sh

## Benchmarks on a generated 1,000,000-row file, as ratios against GNU split and cat.
bench: tools
	cargo build --release -p eventdriven-runtime --bin eventdriven
	scripts/bench.sh $(RELEASE_BIN)/eventdriven

tools:
	scripts/ensure-tools.sh

clean:
	rm -rf .eventdriven

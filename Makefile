# FaceKiosk — the commands a developer or branch IT needs. Every target sets the machine up first
# (scripts/setup: idempotent and quiet when there is nothing to do).
#
#   make run     start the kiosk app (needs a display)
#   make demo    run the kiosk's main job headless on the embedded defaults
#   make test    lint + every test (the API's on SQLite and on a throw-away PostgreSQL, the
#                screens in Chromium, the app end to end under Xvfb through WebDriver)
#   make serve   run the verification API on 127.0.0.1:8080 (embedded SQLite)
#   make bench-api  load-test the API: 50 kiosks posting results, 20 integrators polling
#   make bench-queue  the kiosk's outbox: enqueue latency, drain rate, memory with 100,000 waiting
#   make bench-app  the kiosk app: cold start, idle CPU, memory, preview, a session (Xvfb)
#   make soak    the offline queue's kill harness, 2,000 kills instead of 220
#   make lint    cargo fmt --check, cargo clippy -D warnings
#   make bench   the engine's speed figures (release build), against Python too
#   make eval    quality figures on the shared evaluation data (not part of the project)

SHELL := /bin/bash
CARGO ?= cargo
# The target dir lives outside the clone so a fresh clone (CI) builds incrementally.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/facekiosk/target
BIN := $(CARGO_TARGET_DIR)/debug
RELEASE_BIN := $(CARGO_TARGET_DIR)/release
# Always build the whole workspace: building single packages unifies features differently and
# rebuilds much of the tree.
BUILD := $(CARGO) build --workspace --locked

.PHONY: setup run demo test lint build bench bench-api bench-queue bench-app soak eval serve openapi

setup:
	@scripts/setup

build: setup
	@$(BUILD) --quiet

# The app; a kiosk not registered yet is registered with a local API first (scripts/run-app).
run: build
	@scripts/run-app

demo: build
	$(BIN)/facekiosk demo

lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked --quiet -- -D warnings

# The API's tests run on SQLite with the rest, then again on a throw-away PostgreSQL
# (scripts/with-postgres: Debian's package, a temporary cluster on 127.0.0.1, removed after).
# scripts/ui-test drives the screens in Debian's Chromium (Playwright) against scripted engine
# events; scripts/e2e runs the real app under Xvfb through WebDriver against the API.
test: lint
	$(CARGO) test --workspace --locked --no-fail-fast
	scripts/with-postgres $(CARGO) test --workspace --locked --test postgres -- --ignored
	scripts/ui-test
	scripts/e2e
	scripts/package --debug

bench: setup
	$(CARGO) build --workspace --locked --release --quiet
	$(RELEASE_BIN)/facekiosk bench --compare-python

serve: build
	$(BIN)/facekiosk serve

bench-api: setup
	$(CARGO) build --workspace --locked --release --quiet
	$(RELEASE_BIN)/facekiosk bench-api
	$(RELEASE_BIN)/facekiosk bench-api --rate 500
	FACEKIOSK_PG_FSYNC=on scripts/with-postgres bash -c '$(RELEASE_BIN)/facekiosk bench-api --database-url "$$FACEKIOSK_TEST_POSTGRES_URL" && $(RELEASE_BIN)/facekiosk bench-api --rate 500 --database-url "$$FACEKIOSK_TEST_POSTGRES_URL"'

bench-queue: setup
	$(CARGO) build --workspace --locked --release --quiet
	$(RELEASE_BIN)/facekiosk bench-queue

# The app's figures: cold start, idle CPU and memory, the preview and a session (release).
bench-app: setup
	scripts/bench-app

# The crash-safety harness, longer: 2,000 SIGKILLs of a syncing kiosk (make test runs 220).
soak: setup
	FACEKIOSK_SOAK_KILLS=2000 $(CARGO) test --workspace --locked --test kill -- --nocapture

# Regenerates docs/openapi.json from the handlers (a test fails when it is stale).
openapi: build
	$(BIN)/facekiosk openapi > docs/openapi.json

eval: build
	scripts/eval

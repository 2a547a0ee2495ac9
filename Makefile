# FaceKiosk — the commands a developer or branch IT needs. Every target sets the machine up first
# (scripts/setup: idempotent and quiet when there is nothing to do).
#
#   make run     start the kiosk app (needs a display)
#   make demo    run the kiosk's main job headless on the embedded defaults
#   make test    lint + every test
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

.PHONY: setup run demo test lint build bench eval

setup:
	@scripts/setup

build: setup
	@$(BUILD) --quiet

run: build
	@if [ -z "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then \
	  echo "make run: no display (DISPLAY/WAYLAND_DISPLAY unset); on a headless machine: xvfb-run -a make run" >&2; exit 1; fi
	$(BIN)/facekiosk-app

demo: build
	$(BIN)/facekiosk demo

lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked --quiet -- -D warnings

test: lint
	$(CARGO) test --workspace --locked --no-fail-fast

bench: setup
	$(CARGO) build --workspace --locked --release --quiet
	$(RELEASE_BIN)/facekiosk bench --compare-python

eval: build
	scripts/eval

# The two commands a new user needs (see README.md):
#   make up    — kcp + one physical cluster + tmc-server on this machine
#   make test  — every test: unit, property and end-to-end against real kcp
#   make image — the container image (an OCI archive), for deploy/kubernetes
#
# Real binaries (kcp, kube-apiserver, etcd, kubectl) are built from their Go
# modules into $(KCP_TMC_CACHE)/bin on first use; cargo's target directory is
# kept there too, so a fresh clone reuses earlier builds on the same machine.
KCP_TMC_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/kcp-tmc
export KCP_TMC_CACHE
export CARGO_TARGET_DIR ?= $(KCP_TMC_CACHE)/target

.PHONY: up test components lint apis image

components:
	bash tests/components/build.sh

up: components
	cargo build --workspace --bins
	$(CARGO_TARGET_DIR)/debug/tmc-up

test: components lint
	cargo test --workspace --no-fail-fast

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

apis:
	cargo run --bin tmc-gen-apis

# The container image, as an OCI archive in target/image/ (deploy/image/build.sh;
# no container engine needed). Load it with podman, push it with skopeo.
image:
	cargo build --release --bin tmc-server
	bash tests/components/build.sh umoci
	bash deploy/image/build.sh --binary $(CARGO_TARGET_DIR)/release/tmc-server

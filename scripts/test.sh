#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --workspace --bins
cargo test --workspace

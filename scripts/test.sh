#!/usr/bin/env bash
# Berth's full test run: dependencies, test images, build, tests.
# Run from anywhere; CI calls it through .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-test-deps.sh

# Test images are rebuilt only when their inputs change: the build script
# and the busybox binary it packs. Saves a few seconds and keeps image IDs
# stable between runs.
export BERTH_TEST_IMAGES=$PWD/target/test-images
stamp=$BERTH_TEST_IMAGES/.inputs.sha256
inputs=$(sha256sum scripts/build-test-images.sh /bin/busybox | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$inputs" ]; then
    rm -rf "$BERTH_TEST_IMAGES"
    ./scripts/build-test-images.sh "$BERTH_TEST_IMAGES"
    echo "$inputs" >"$stamp"
fi

# Integration tests spawn the daemon binary, so build it first.
cargo build --bins

status=0
if command -v cargo-nextest >/dev/null 2>&1; then
    cargo nextest run --no-fail-fast || status=$?
else
    echo "test.sh: cargo-nextest not found, using cargo test" >&2
    cargo test --no-fail-fast || status=$?
fi

# The real clients against a real berthd, with the ratchet (compat/known-failures.tsv).
python3 compat/run.py || status=$?
exit "$status"

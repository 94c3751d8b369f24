# rootsweep developer commands. `just` alone lists them.
set positional-arguments

# List the recipes.
default:
    @just --list

# Format every crate.
fmt:
    cargo fmt --all

# Lint everything, warnings as errors.
lint:
    cargo clippy --workspace --all-targets --locked -- -D warnings

# Run the test suite (the README's test command).
test:
    cargo test --workspace

# Build the docs, warnings as errors.
doc:
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# Check the emulator's wire format with the AWS CLI (installs it into target/ci-venv).
conformance:
    test -x target/ci-venv/bin/aws || (python3 -m venv target/ci-venv && target/ci-venv/bin/pip install --quiet awscli==1.46.2)
    cargo build -p rootsweep-emulator
    scripts/aws-cli-conformance.sh target/debug/rootsweep-emulator target/ci-venv/bin/aws

# Everything CI runs, exactly as CI runs it.
ci:
    .ci/run

# Start the emulator on 127.0.0.1:4566 (extra flags pass through; see --help).
emulator *args:
    cargo run --release -p rootsweep-emulator -- "$@"

# Org-scale benchmarks: release rootsweep against the release emulator (`just bench quick` for 1,000 accounts only,
# `just bench ar500 seed=3` for one profile and another generated org and latency draws,
# `just bench quick ar500 seed=1-8` for several seeds and the medians over them, `task=audit` for one task,
# `just bench ar500 accounts=2000,5000` for other org sizes).
bench *args:
    cargo build --release -p rootsweep -p rootsweep-emulator
    cargo bench -p rootsweep-benches --bench org_scale -- "$@"

# Measure the emulator's capacity (release build; figures go in docs/benchmarks.md).
bench-emulator:
    cargo bench -p rootsweep-benches --bench emulator

# Measure how the adaptive rates find quotas they are not told (release build).
bench-adaptive:
    cargo bench -p rootsweep-benches --bench adaptive

# Two rootsweep runs on one AssumeRoot quota, one of them not backing off (release build; about 2.5 minutes).
bench-shared-quota *args:
    cargo build --release -p rootsweep -p rootsweep-emulator
    scripts/shared-quota.sh "$@"

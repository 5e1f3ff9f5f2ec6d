#!/usr/bin/env bash
# OpenTofu for the project's Terraform roots, built from its Go module with this machine's Go on
# first use and cached under .cache/tofu/VERSION/: no Terraform or OpenTofu binary is installed or
# downloaded. Runs `tofu ARG...`; with no arguments it only builds and prints the binary's path.
set -euo pipefail

TOFU_VERSION=v1.10.6
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$REPO/.cache/tofu/$TOFU_VERSION/tofu

if [[ ! -x $BIN ]]; then
  command -v go >/dev/null || { echo "tofu.sh: needs Go on PATH to build OpenTofu $TOFU_VERSION" >&2; exit 1; }
  echo "tofu.sh: building OpenTofu $TOFU_VERSION from its Go module (a few minutes, once)" >&2
  mkdir -p "$(dirname "$BIN")"
  # The module's go.mod has a replace directive, so `go install pkg@version` refuses it: build
  # from the module's own directory in Go's module cache instead (its go.sum pins every
  # dependency). Into a temporary directory, then one rename: an interrupted build leaves no binary.
  src=$(go mod download -json "github.com/opentofu/opentofu@$TOFU_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -d $src ]] || { echo "tofu.sh: go mod download github.com/opentofu/opentofu@$TOFU_VERSION failed" >&2; exit 1; }
  gobin=$(mktemp -d "$(dirname "$BIN")/build.XXXXXX")
  trap 'rm -rf "$gobin"' EXIT
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$gobin/tofu" \
    -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" ./cmd/tofu) >&2 ||
    { echo "tofu.sh: building github.com/opentofu/opentofu@$TOFU_VERSION/cmd/tofu failed" >&2; exit 1; }
  mv "$gobin/tofu" "$BIN"
fi
# A TF_CLI_CONFIG_FILE naming a missing file only makes every command print a warning.
[[ -z ${TF_CLI_CONFIG_FILE:-} || -e $TF_CLI_CONFIG_FILE ]] || unset TF_CLI_CONFIG_FILE
if [[ $# -eq 0 ]]; then
  echo "$BIN"
  exit 0
fi
exec "$BIN" "$@"

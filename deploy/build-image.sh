#!/usr/bin/env bash
# Builds the server image from deploy/Dockerfile without pulling anything:
# a statically linked heartlab-server built on this machine, and one model
# artifact, staged into a small build context.
#
#   deploy/build-image.sh TAG [ARTIFACT]
#
# TAG       the image tag, e.g. 0.1.0-model-1 (never `latest`)
# ARTIFACT  the model's artifact.json, its .sha256 beside it
#           (default: lab/out/model/artifact.json, made by `make train`)
#
# Prints the image's name and size last. The binary is built into its own
# target folder ($HEARTLAB_IMAGE_TARGET_DIR), because the static-linking
# flags would otherwise invalidate the ordinary build's cache, and because
# the tests call this script while `cargo test` holds the ordinary one.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
image_name="${HEARTLAB_IMAGE_NAME:-heartlab-server}"
target_triple="x86_64-unknown-linux-gnu"
target_dir="${HEARTLAB_IMAGE_TARGET_DIR:-${HEARTLAB_CACHE:-$HOME/.cache/heartlab}/target-image}"

die() {
  echo "build-image: $*" >&2
  exit 1
}

tag="${1:-}"
artifact="${2:-$root/lab/out/model/artifact.json}"
[[ -n "$tag" ]] || die "usage: deploy/build-image.sh TAG [ARTIFACT]"
[[ "$tag" != latest ]] || die "refusing the tag 'latest': name the version"
command -v docker >/dev/null 2>&1 ||
  die "docker is not installed: https://docs.docker.com/engine/install/"
command -v cargo >/dev/null 2>&1 || die "cargo is not installed: https://rustup.rs"
[[ -f "$artifact" ]] || die "no model artifact at $artifact: run 'make train' first"
[[ -f "$artifact.sha256" ]] || die "no checksum beside $artifact ($artifact.sha256)"

echo "build-image: building heartlab-server (static, release) into $target_dir"
RUSTFLAGS="-C target-feature=+crt-static -C strip=symbols" CARGO_TARGET_DIR="$target_dir" \
  cargo build --quiet --release --locked -p heartlab-server --target "$target_triple" \
  --manifest-path "$root/Cargo.toml"
binary="$target_dir/$target_triple/release/heartlab-server"
[[ -x "$binary" ]] || die "cargo built no binary at $binary"

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
mkdir "$context/model"
install -m 0555 "$binary" "$context/heartlab-server"
install -m 0444 "$artifact" "$context/model/artifact.json"
install -m 0444 "$artifact.sha256" "$context/model/artifact.json.sha256"
chmod 0555 "$context/model"

version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/server/Cargo.toml" | head -n 1)"
commit="$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
model="$(sha256sum "$artifact" | cut -c 1-12)"

# The image this tag named before, removed after the build when replaced, so
# repeated builds (every test run makes two) leave no untagged images behind.
previous="$(docker image inspect --format '{{.Id}}' "$image_name:$tag" 2>/dev/null || true)"

echo "build-image: docker build $image_name:$tag (model sha256 $model...)"
DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}" docker build --quiet \
  --file "$root/deploy/Dockerfile" \
  --tag "$image_name:$tag" \
  --build-arg "VERSION=${version:-unknown}" \
  --build-arg "GIT_COMMIT=$commit" \
  --build-arg "MODEL_VERSION=$model" \
  "$context" >/dev/null

current="$(docker image inspect --format '{{.Id}}' "$image_name:$tag")"
if [[ -n "$previous" && "$previous" != "$current" ]]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi

size="$(docker image inspect --format '{{.Size}}' "$image_name:$tag")"
echo "build-image: $image_name:$tag is $size bytes ($(( size / 1024 / 1024 )) MiB)"

#!/usr/bin/env bash
# Deploys the prediction server to a local kind cluster, and drives a canary.
#
#   deploy/deploy.sh deploy     cluster (if none), image, load, apply, rollout, one prediction
#   deploy/deploy.sh undeploy   remove every heartlab object (the cluster stays)
#   deploy/deploy.sh canary     build and load the next model's image, run it beside the stable
#   deploy/deploy.sh promote    the stable track takes the canary's image; the canary goes
#   deploy/deploy.sh rollback   the canary goes; the stable track was never touched
#   deploy/deploy.sh images     print the stable and canary tags the manifests name
#
# Each command can be run twice: the second run finds the work done and says so.
# Settings (environment): HEARTLAB_CLUSTER (heartlab), HEARTLAB_ARTIFACT and
# HEARTLAB_CANARY_ARTIFACT (lab/out/model/artifact.json), HEARTLAB_LOCAL_PORT (18080),
# HEARTLAB_ROLLOUT_TIMEOUT (180s), HEARTLAB_BUILD_IMAGE (deploy/build-image.sh).
set -euo pipefail

root="$(cd "${BASH_SOURCE[0]%/*}/.." && pwd)"
cluster="${HEARTLAB_CLUSTER:-heartlab}"
namespace=heartlab
image_name=heartlab-server
overlays="$root/deploy/k8s/overlays"
build_image="${HEARTLAB_BUILD_IMAGE:-$root/deploy/build-image.sh}"
artifact="${HEARTLAB_ARTIFACT:-$root/lab/out/model/artifact.json}"
canary_artifact="${HEARTLAB_CANARY_ARTIFACT:-$root/lab/out/model/artifact.json}"
local_port="${HEARTLAB_LOCAL_PORT:-18080}"
timeout="${HEARTLAB_ROLLOUT_TIMEOUT:-180s}"

say() {
  echo "deploy: $*"
}

die() {
  echo "deploy: error: $*" >&2
  exit 1
}

# Stops with the install hint of the first missing tool, before anything runs.
require() {
  local tool
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      case "$tool" in
        docker) die "docker is not installed: https://docs.docker.com/engine/install/" ;;
        kind) die "kind is not installed: https://kind.sigs.k8s.io/docs/user/quick-start/" ;;
        kubectl) die "kubectl is not installed: https://kubernetes.io/docs/tasks/tools/" ;;
        *) die "$tool is not installed" ;;
      esac
    fi
  done
}

# The tag a manifest file names, read from the file the overlays render, so
# the image built is the image applied (a test compares it with kustomize).
stable_tag() {
  sed -n "s/^ *image: $image_name:\(.*\)$/\1/p" "$root/deploy/k8s/workload/deployment.yaml"
}

canary_tag() {
  sed -n 's/^ *newTag: *\(.*\)$/\1/p' "$overlays/canary/track/kustomization.yaml"
}

kc() {
  kubectl --context "kind-$cluster" --namespace "$namespace" "$@"
}

cluster_exists() {
  kind get clusters 2>/dev/null | grep -qx "$cluster"
}

require_cluster() {
  cluster_exists || die "no kind cluster '$cluster': run 'make deploy' first"
}

# Builds the image for a tag and loads it into the cluster's node.
build_and_load() {
  local tag="$1" model="$2"
  say "building $image_name:$tag from $model"
  "$build_image" "$tag" "$model"
  say "loading $image_name:$tag into kind cluster '$cluster'"
  kind load docker-image "$image_name:$tag" --name "$cluster"
}

# Waits for a Deployment's rollout; on failure, shows why before stopping.
wait_rollout() {
  local deployment="$1"
  say "waiting for deployment/$deployment (at most $timeout)"
  if ! kc rollout status "deployment/$deployment" --timeout "$timeout"; then
    kc get pods -l "app.kubernetes.io/name=$image_name" -o wide || true
    die "deployment/$deployment did not become ready within $timeout; the pods' events:" \
      "kubectl --context kind-$cluster -n $namespace describe pods" \
      "(the previous pods are still serving: maxUnavailable is 0)"
  fi
}

# One prediction through a port-forward to the Service, as a client would.
predict_once() {
  require curl
  local forward_log pid answer=""
  forward_log="$(mktemp)"
  kc port-forward "service/$image_name" "$local_port:80" >"$forward_log" 2>&1 &
  pid=$!
  # shellcheck disable=SC2064 # expand now: the trap must kill this forward
  trap "kill $pid 2>/dev/null || true; rm -f '$forward_log'" EXIT
  for _ in $(seq 1 20); do
    if answer="$(curl --silent --show-error --fail --max-time 5 \
      --header 'content-type: application/json' \
      --data @"$root/deploy/example-patient.json" \
      "http://127.0.0.1:$local_port/v1/predict" 2>/dev/null)"; then
      break
    fi
    answer=""
    sleep 0.5
  done
  [[ -n "$answer" ]] || die "no prediction through the port-forward: $(cat "$forward_log")"
  say "prediction for deploy/example-patient.json: $answer"
}

cmd_deploy() {
  require docker kind kubectl
  if cluster_exists; then
    say "kind cluster '$cluster' exists"
  else
    say "creating kind cluster '$cluster' from deploy/kind/cluster.yaml"
    kind create cluster --name "$cluster" --config "$root/deploy/kind/cluster.yaml" --wait 120s
  fi
  build_and_load "$(stable_tag)" "$artifact"
  say "applying the kind overlay"
  kc apply -k "$overlays/kind"
  wait_rollout "$image_name"
  predict_once
}

cmd_undeploy() {
  require kind kubectl
  if ! cluster_exists; then
    say "no kind cluster '$cluster': nothing to remove"
    return
  fi
  say "removing every heartlab object (both tracks)"
  kc delete -k "$overlays/canary" --ignore-not-found --wait=true
  say "the cluster stays; remove it with: kind delete cluster --name $cluster"
}

cmd_canary() {
  require docker kind kubectl
  require_cluster
  kc get "deployment/$image_name" >/dev/null 2>&1 ||
    die "the stable track is not deployed: run 'make deploy' first"
  build_and_load "$(canary_tag)" "$canary_artifact"
  say "applying the canary overlay"
  kc apply -k "$overlays/canary"
  wait_rollout "$image_name-canary"
  wait_rollout "$image_name"
  say "the canary serves 1 of every 4 requests (1 canary, 3 stable replicas)"
  predict_once
}

cmd_promote() {
  require kind kubectl
  require_cluster
  local tag
  tag="$(canary_tag)"
  if ! kc get "deployment/$image_name-canary" >/dev/null 2>&1; then
    say "no canary is running: nothing to promote"
    return
  fi
  say "the stable track takes $image_name:$tag (a rolling update, maxUnavailable 0)"
  kubectl kustomize "$overlays/kind" |
    sed "s|image: $image_name:$(stable_tag)\$|image: $image_name:$tag|" |
    kc apply -f -
  wait_rollout "$image_name"
  say "removing the canary track"
  kc delete deployment,configmap -l heartlab.dev/track=canary --ignore-not-found
  say "promoted. Write $tag into deploy/k8s/workload/deployment.yaml and commit it,"
  say "or the next 'make deploy' brings back $(stable_tag)."
}

cmd_rollback() {
  require kind kubectl
  require_cluster
  say "removing the canary track; the stable track never changed"
  kc delete deployment,configmap -l heartlab.dev/track=canary --ignore-not-found
  say "restoring the stable track's replica count"
  kc apply -k "$overlays/kind"
  wait_rollout "$image_name"
}

case "${1:-}" in
  deploy) cmd_deploy ;;
  undeploy) cmd_undeploy ;;
  canary) cmd_canary ;;
  promote) cmd_promote ;;
  rollback) cmd_rollback ;;
  images) printf 'stable %s\ncanary %s\n' "$(stable_tag)" "$(canary_tag)" ;;
  *) die "usage: deploy/deploy.sh deploy|undeploy|canary|promote|rollback|images" ;;
esac

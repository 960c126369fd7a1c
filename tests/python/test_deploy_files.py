"""The deployment files agree with each other and with the shipped configs.

Validators check each file alone (scripts/lint-deploy.sh); this checks what
only the files together say: every port, probe path and grace period in
docker/compose.yaml and deploy/k8s/ matches docker/iriswire.toml,
docker/iriswire-native.toml and the Dockerfiles, the stop budget adds up
(docs/deployment.md's table included), the Kubernetes copies of the configs
and alert rules are exact, the shipped configs pass `iriswire check-config`,
the Secret's placeholders are refused, and the binary's glibc needs fit the
IRIS base image.
"""

import filecmp
import importlib.util
import os
import re
import subprocess

import pytest

pytest.importorskip("yaml", reason="PyYAML: scripts/test-deps.sh installs it")

from conftest import resolve_binary  # noqa: E402
from deploy_files import Dockerfile, load_toml, load_yaml, load_yaml_all, path, port_of, read, seconds  # noqa: E402

EMBEDDED = load_toml("docker", "iriswire.toml")
NATIVE = load_toml("docker", "iriswire-native.toml")
PG_PORT = port_of(EMBEDDED["listen"])
HTTP_PORT = port_of(EMBEDDED["http_listen"])
DRAIN_S = EMBEDDED["server"]["shutdown_timeout_ms"] / 1000
PROBE_TIMEOUT_S = EMBEDDED["health"]["probe_timeout_ms"] / 1000
IMAGE = Dockerfile("docker", "Dockerfile")
SLIM = Dockerfile("docker", "Dockerfile.slim")
# What the workers need after the drain: cancel, roll back, exit.
WORKER_EXIT_MARGIN_S = 5
IRIS_UID, SLIM_UID = 51773, 10001


def healthcheck_module():
    spec = importlib.util.spec_from_file_location("healthcheck", path("docker", "healthcheck.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def k8s(*parts):
    return load_yaml("deploy", "k8s", *parts)


def only_container(pod_template):
    (container,) = pod_template["spec"]["containers"]
    return container


def env_of(container):
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def prestop_sleep_s(container):
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep", command
    return float(command[1])


def probe_window_s(probe):
    return probe["periodSeconds"] * probe["failureThreshold"]


DEPLOYMENT = k8s("base", "deployment.yaml")
STATEFULSET = k8s("overlays", "iris", "statefulset.yaml")
COMPOSE = load_yaml("docker", "compose.yaml")


# --- the configs ---------------------------------------------------------

def test_kubernetes_configs_are_exact_copies():
    assert filecmp.cmp(path("deploy/k8s/base/iriswire.toml"), path("docker/iriswire-native.toml"), shallow=False)
    assert filecmp.cmp(path("deploy/k8s/overlays/iris/iriswire.toml"), path("docker/iriswire.toml"), shallow=False)


def test_both_configs_share_ports_and_budgets():
    for key in ("listen", "http_listen"):
        assert port_of(NATIVE[key]) == port_of(EMBEDDED[key]), key
    for table in ("server", "health"):
        assert NATIVE[table] == EMBEDDED[table], table
    assert EMBEDDED["backend"] == "iris-embedded" and NATIVE["backend"] == "iris-native"


# --- the images ----------------------------------------------------------

@pytest.mark.parametrize("image,config,uid", [(IMAGE, "docker/iriswire.toml", IRIS_UID),
                                               (SLIM, "docker/iriswire-native.toml", SLIM_UID)])
def test_images_ship_their_config_ports_and_user(image, config, uid):
    settings = load_toml(config)
    assert image.repo_file(image.env["IRISWIRE_CONFIG"]) == path(config)
    assert {PG_PORT, HTTP_PORT} <= image.expose
    assert image.entrypoint[-1] == "/opt/iriswire/entrypoint.sh"
    assert image.repo_file(image.entrypoint[-1]) == path("docker/entrypoint.sh")
    assert os.path.isdir(image.repo_file(settings["bridge"]["worker_script"]))
    # Numeric and non-root, so that Kubernetes' runAsNonRoot can verify it.
    assert image.user.split(":")[0] == str(uid)
    # The HEALTHCHECK runs under the workers' interpreter: no curl needed.
    interpreter, script = image.healthcheck["cmd"]
    assert interpreter == settings["bridge"]["python"]
    assert image.repo_file(script) == path("docker/healthcheck.py")


def test_iris_image_pins_its_tag_and_enables_callin():
    assert IMAGE.base == "${IRIS_IMAGE}:${IRIS_TAG}"
    assert re.fullmatch(r"\d{4}\.\d+(\.\d+)*", IMAGE.args["IRIS_TAG"]), IMAGE.args["IRIS_TAG"]
    assert IMAGE.env["IRIS_CMD"] == "iris"
    assert {1972, 52773} <= IMAGE.expose
    merge = IMAGE.repo_file(IMAGE.env["ISC_CPF_MERGE_FILE"])
    assert read(merge).split("\n")[:2] == ["[Actions]", "ModifyService:Name=%Service_CallIn,Enabled=1,AutheEnabled=48"]


def test_slim_image_does_not_manage_iris():
    assert SLIM.env["IRIS_CMD"] == ""
    assert "intersystems-irispython==${IRISPYTHON_VERSION}" in read("docker/Dockerfile.slim")
    assert re.fullmatch(r"\d+\.\d+\.\d+", SLIM.args["IRISPYTHON_VERSION"])


def test_healthcheck_probes_readiness_in_time():
    module = healthcheck_module()
    assert module.READY_PATH == "/health/ready"
    assert port_of(module.DEFAULT_LISTEN) == HTTP_PORT
    assert module.ready_url("0.0.0.0:9930") == "http://127.0.0.1:9930/health/ready"
    for image in (IMAGE, SLIM):
        options = image.healthcheck["options"]
        # iriswire's own probe < the script's timeout < Docker's.
        assert PROBE_TIMEOUT_S < module.TIMEOUT_S < seconds(options["timeout"])
    assert seconds(IMAGE.healthcheck["options"]["start-period"]) >= float(IMAGE.env["IRIS_START_TIMEOUT_S"])


@pytest.mark.parametrize("image", [IMAGE, SLIM], ids=["iris", "slim"])
def test_exit_budget_covers_the_drain(image):
    assert float(image.env["IRISWIRE_EXIT_TIMEOUT_S"]) >= DRAIN_S + WORKER_EXIT_MARGIN_S


def test_dockerignore_keeps_secrets_out_and_build_inputs_in():
    lines = read(".dockerignore").split()
    assert "docker/secrets/" in lines
    for needed in ("!Cargo.toml", "!Cargo.lock", "!src/", "!iris/", "!benches/", "!docker/"):
        assert needed in lines, needed


# --- compose -------------------------------------------------------------

def test_compose_service_matches_image_and_budget():
    service = COMPOSE["services"]["iriswire"]
    assert os.path.normpath(path("docker", service["build"]["context"])) == path()
    assert service["build"]["dockerfile"] == "docker/Dockerfile"
    published = {int(p.rsplit(":", 1)[1]) for p in service["ports"]}
    assert {PG_PORT, HTTP_PORT} <= published <= IMAGE.expose
    grace = seconds(service["stop_grace_period"])
    assert grace > float(IMAGE.env["IRISWIRE_EXIT_TIMEOUT_S"]) + float(IMAGE.env["IRIS_STOP_BUDGET_S"])
    assert "healthcheck" not in service, "the image's HEALTHCHECK is the one that applies"


def test_compose_secrets_are_files_mounted_where_the_env_says():
    service = COMPOSE["services"]["iriswire"]
    for var, value in service["environment"].items():
        if var.endswith("_FILE"):
            name = value.removeprefix("/run/secrets/")
            assert name in service["secrets"] and name in COMPOSE["secrets"], var
    for name, secret in COMPOSE["secrets"].items():
        assert secret["file"].startswith("./secrets/"), name
    assert "PASSWORD=" not in read("docker/compose.yaml")


def mounts(service):
    return {target: source for source, target, *_ in (v.split(":") for v in service["volumes"])}


def test_compose_monitoring_reads_the_shipped_files():
    prometheus = COMPOSE["services"]["prometheus"]
    config = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    assert config == "--config.file=/etc/prometheus/prometheus.yml"
    assert mounts(prometheus)["/etc/prometheus"] == "./prometheus"
    alertmanager = COMPOSE["services"]["alertmanager"]
    assert mounts(alertmanager)["/etc/alertmanager"] == "./alertmanager"
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in alertmanager["command"]
    grafana = mounts(COMPOSE["services"]["grafana"])
    assert grafana["/etc/grafana/provisioning"] == "./grafana/provisioning"
    provider = load_yaml("docker/grafana/provisioning/dashboards/iriswire.yml")["providers"][0]
    assert grafana[provider["options"]["path"]] == "./grafana/dashboards"

    scrape = load_yaml("docker/prometheus/prometheus.yml")
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in scrape["scrape_configs"]}
    assert targets["iriswire"] == [f"iriswire:{HTTP_PORT}"]
    assert targets["iris"] == ["iriswire:52773"]
    (alerting,) = scrape["alerting"]["alertmanagers"]
    assert alerting["static_configs"][0]["targets"] == ["alertmanager:9093"]
    assert all(not image.startswith("latest") for image in
               (s["image"].rpartition(":")[2] for n, s in COMPOSE["services"].items() if n != "iriswire"))


# --- Kubernetes ----------------------------------------------------------

@pytest.mark.parametrize("workload,image", [(DEPLOYMENT, SLIM), (STATEFULSET, IMAGE)], ids=["base", "iris"])
def test_pods_probe_the_right_paths_and_ports(workload, image):
    container = only_container(workload["spec"]["template"])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["pg"] == PG_PORT and ports["http"] == HTTP_PORT
    assert set(ports.values()) <= image.expose
    for probe, route in (("startupProbe", "/health/live"), ("livenessProbe", "/health/live"),
                         ("readinessProbe", "/health/ready")):
        get = container[probe]["httpGet"]
        assert (get["path"], get["port"]) == (route, "http"), probe
    assert container["readinessProbe"]["timeoutSeconds"] > PROBE_TIMEOUT_S


def test_deployment_budget_and_hardening():
    pod = DEPLOYMENT["spec"]["template"]["spec"]
    container = only_container(DEPLOYMENT["spec"]["template"])
    env = env_of(container)
    assert env["IRISWIRE_EXIT_TIMEOUT_S"] == SLIM.env["IRISWIRE_EXIT_TIMEOUT_S"]
    assert pod["terminationGracePeriodSeconds"] > prestop_sleep_s(container) + float(env["IRISWIRE_EXIT_TIMEOUT_S"])
    assert DEPLOYMENT["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == SLIM_UID
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["resources"]["requests"] and container["resources"]["limits"]
    # With a read-only root, whatever is written lands on an emptyDir.
    mounted = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    empty = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    for writable in (NATIVE["data_dir"], env["IRISWIRE_RUNTIME_DIR"]):
        assert mounted.get(writable) in empty, writable
    assert mounted[os.path.dirname(env["IRISWIRE_CONFIG"])] == "config"


@pytest.mark.parametrize("workload", [DEPLOYMENT, STATEFULSET], ids=["base", "iris"])
def test_credentials_come_from_the_secret(workload):
    container = only_container(workload["spec"]["template"])
    secret = k8s("base", "secret.yaml")
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
    mounted = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    for var, value in env_of(container).items():
        if var.endswith("_FILE"):
            directory, key = os.path.split(value)
            assert volumes[mounted[directory]]["secret"]["secretName"] == secret["metadata"]["name"], var
            assert key in secret["stringData"], var
    configmap = k8s("base", "kustomization.yaml")["configMapGenerator"][0]
    assert volumes["config"]["configMap"]["name"] == configmap["name"]
    assert os.path.basename(env_of(container)["IRISWIRE_CONFIG"]) in configmap["files"]


def test_statefulset_budget_matches_the_iris_image():
    pod = STATEFULSET["spec"]["template"]["spec"]
    container = only_container(STATEFULSET["spec"]["template"])
    env = env_of(container)
    for var in ("IRISWIRE_EXIT_TIMEOUT_S", "IRIS_STOP_BUDGET_S", "IRIS_START_TIMEOUT_S"):
        assert env[var] == IMAGE.env[var], var
    budget = prestop_sleep_s(container) + float(env["IRISWIRE_EXIT_TIMEOUT_S"]) + float(env["IRIS_STOP_BUDGET_S"])
    assert pod["terminationGracePeriodSeconds"] > budget
    assert probe_window_s(container["startupProbe"]) > float(env["IRIS_START_TIMEOUT_S"])
    assert pod["securityContext"]["runAsUser"] == IRIS_UID
    assert env["ISC_DATA_DIRECTORY"].startswith(
        next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "durable") + "/")


def test_service_pdb_hpa_and_monitoring_select_the_pods():
    labels = DEPLOYMENT["spec"]["template"]["metadata"]["labels"]
    assert STATEFULSET["spec"]["template"]["metadata"]["labels"] == labels
    service = k8s("base", "service.yaml")
    assert service["spec"]["selector"] == labels
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == {"pg": PG_PORT, "http": HTTP_PORT}
    assert k8s("base", "pdb.yaml")["spec"]["selector"]["matchLabels"] == labels
    podmonitor = k8s("base", "podmonitor.yaml")
    assert podmonitor["spec"]["selector"]["matchLabels"] == labels
    (endpoint,) = podmonitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")
    # job="iriswire", as the alert rules expect.
    assert labels[podmonitor["spec"]["jobLabel"]] == "iriswire"
    assert 'job="iriswire"' in read("docker/prometheus/alerts.yml")
    # The overlay's IRIS endpoint names a port the StatefulSet has.
    (patch,) = k8s("overlays", "iris", "podmonitor-iris.yaml")
    ports = {p["name"] for p in only_container(STATEFULSET["spec"]["template"])["ports"]}
    assert patch["value"]["port"] in ports


def test_autoscaler_targets_the_deployment_and_a_documented_metric():
    hpa = k8s("base", "hpa.yaml")
    assert hpa["spec"]["scaleTargetRef"]["name"] == DEPLOYMENT["metadata"]["name"]
    metrics = {m["type"]: m for m in hpa["spec"]["metrics"]}
    assert metrics["Resource"]["resource"]["name"] == "cpu"
    pods = metrics["Pods"]["pods"]
    assert f"| `{pods['metric']['name']}` | gauge |" in read("docs/metrics.md")
    assert 0 < float(pods["target"]["averageValue"]) < NATIVE["server"]["max_client_connections"]
    assert hpa["spec"]["minReplicas"] >= 2 and DEPLOYMENT["spec"]["replicas"] >= 2


def test_prometheusrule_is_alerts_yml():
    assert k8s("base", "prometheusrule.yaml")["spec"]["groups"] == load_yaml("docker/prometheus/alerts.yml")["groups"]


def test_overlay_replaces_the_deployment_and_autoscaler():
    kustomization = k8s("overlays", "iris", "kustomization.yaml")
    deleted = set()
    for patch in kustomization["patches"]:
        for doc in load_yaml_all("deploy", "k8s", "overlays", "iris", patch["path"]):
            if isinstance(doc, dict) and doc.get("$patch") == "delete":
                deleted.add(doc["kind"])
    assert deleted == {"Deployment", "HorizontalPodAutoscaler"}
    assert "statefulset.yaml" in kustomization["resources"]


# --- docs/deployment.md's stop budget table -------------------------------

def documented_budget():
    """{(setting, where): seconds} from the rows `| `setting` | where | N s |`."""
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+?) \| (\d+) s \|", read("docs/deployment.md"), re.M)
    return {(name, where.strip()): float(value) for name, where, value in rows}


def test_deployment_doc_states_the_budget_the_files_use():
    base = only_container(DEPLOYMENT["spec"]["template"])
    iris = only_container(STATEFULSET["spec"]["template"])
    actual = {
        ("server.shutdown_timeout_ms", "docker/iriswire.toml, docker/iriswire-native.toml"): DRAIN_S,
        ("IRISWIRE_EXIT_TIMEOUT_S", "both Dockerfiles, both pod specs"): float(IMAGE.env["IRISWIRE_EXIT_TIMEOUT_S"]),
        ("IRIS_STOP_BUDGET_S", "docker/Dockerfile, the StatefulSet"): float(IMAGE.env["IRIS_STOP_BUDGET_S"]),
        ("IRIS_START_TIMEOUT_S", "docker/Dockerfile, the StatefulSet"): float(IMAGE.env["IRIS_START_TIMEOUT_S"]),
        ("preStop", "both pod specs"): prestop_sleep_s(base),
        ("stop_grace_period", "docker/compose.yaml"):
            seconds(COMPOSE["services"]["iriswire"]["stop_grace_period"]),
        ("terminationGracePeriodSeconds", "deploy/k8s/base (Deployment)"):
            float(DEPLOYMENT["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]),
        ("terminationGracePeriodSeconds", "deploy/k8s/overlays/iris (StatefulSet)"):
            float(STATEFULSET["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]),
    }
    assert prestop_sleep_s(iris) == prestop_sleep_s(base)
    assert env_of(base)["IRISWIRE_EXIT_TIMEOUT_S"] == env_of(iris)["IRISWIRE_EXIT_TIMEOUT_S"] \
        == SLIM.env["IRISWIRE_EXIT_TIMEOUT_S"] == IMAGE.env["IRISWIRE_EXIT_TIMEOUT_S"]
    assert documented_budget() == actual


# --- the binary and the shipped configs -----------------------------------

def binary_or_skip():
    binary = resolve_binary()
    if not os.access(binary, os.X_OK):
        pytest.skip(f"iriswire binary not found at {binary}: run `cargo build`")
    return binary


def check_config(binary, text, tmp_path):
    config = tmp_path / "iriswire.toml"
    config.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IRIS", "PG"))}
    return subprocess.run([binary, "check-config", "--config", str(config)], env=env,
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("config", ["docker/iriswire.toml", "docker/iriswire-native.toml"])
def test_shipped_configs_are_valid_once_users_are_added(config, tmp_path):
    binary = binary_or_skip()
    user = '\n[[users]]\nname = "app"\npassword = "md5' + "0" * 32 + '"\n'
    done = check_config(binary, read(config) + user, tmp_path)
    assert done.returncode == 0, done.stderr


def test_secret_placeholders_are_refused(tmp_path):
    """Applied unchanged, the Secret's users.toml stops iriswire instead of letting anyone in."""
    binary = binary_or_skip()
    users = k8s("base", "secret.yaml")["stringData"]["users.toml"]
    done = check_config(binary, read("deploy/k8s/base/iriswire.toml") + "\n" + users, tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "users" in done.stderr


def test_binary_needs_no_glibc_newer_than_the_iris_base_image():
    """IRIS 2024.1+ images are Ubuntu 22.04 (glibc 2.35) or newer; the build stage is Debian 12."""
    binary = binary_or_skip()
    try:
        symbols = subprocess.run(["objdump", "-T", binary], capture_output=True, text=True, check=True).stdout
    except FileNotFoundError:
        pytest.skip("objdump (binutils) not installed")
    versions = {tuple(map(int, v.split("."))) for v in re.findall(r"GLIBC_(\d+\.\d+(?:\.\d+)?)", symbols)}
    assert versions and max(versions) <= (2, 35), max(versions)

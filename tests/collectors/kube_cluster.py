"""A real Kubernetes control plane for the integration tests: etcd + kube-apiserver + kube-controller-manager.

The binaries come from `.ci/kubernetes.sh` (Debian's kubernetes source package, built once into
$CROSSPATH_K8S_CACHE, default /var/cache/crosspath-k8s/bin) and etcd from Debian's etcd-server; `make test`
runs that script first. Without them the tests skip naming the command, except under CI=true where they
are an error (tests/servers.py: CI never goes green by skipping).
Everything listens on free loopback ports, with token authentication and RBAC authorization.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.servers import missing

CACHE = Path(os.environ.get("CROSSPATH_K8S_CACHE", "/var/cache/crosspath-k8s"))
ADMIN_TOKEN = "crosspath-admin-token"
READER_TOKEN = "crosspath-reader-token"
READER_USER = "crosspath-reader"
LIMITED_TOKEN = "crosspath-limited-token"


class ControlPlaneError(RuntimeError):
    pass


def _lookup(cache: Path) -> tuple[dict[str, Path], list[str]]:
    found = {
        "kube-apiserver": cache / "bin" / "kube-apiserver",
        "kube-controller-manager": cache / "bin" / "kube-controller-manager",
        "etcd": Path(shutil.which("etcd") or "/usr/bin/etcd"),
    }
    return found, [name for name, path in found.items() if not os.access(path, os.X_OK)]


def binaries(cache: Path | None = None) -> dict[str, Path]:
    """The three binaries, or a ControlPlaneError naming the missing ones and the command that builds them."""
    cache = cache or CACHE
    found, absent = _lookup(cache)
    if absent:
        raise ControlPlaneError(
            f"missing {', '.join(absent)}: run `.ci/kubernetes.sh` as root (builds kube-apiserver and "
            f"kube-controller-manager into {cache}/bin and installs etcd-server)")
    return found


def require_binaries(cache: Path | None = None) -> dict[str, Path]:
    """The binaries, or the suite's rule for a missing server (tests/servers.py): a skip naming the command
    outside CI, an error under CI=true (CI never goes green by skipping)."""
    cache = cache or CACHE
    found, absent = _lookup(cache)
    if absent:
        missing("Kubernetes control plane", "sudo .ci/kubernetes.sh",
                f"no {', '.join(absent)}; built once into {cache}/bin")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rsa_key(folder: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = folder / "sa.key", folder / "sa.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


@dataclass
class ControlPlane:
    folder: Path
    port: int = 0
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def kubeconfig(self, token: str, name: str = "test") -> Path:
        path = self.folder / f"kubeconfig-{name}"
        path.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: {name}\n  cluster:\n    server: {self.url}\n"
            f"    certificate-authority: {self.folder / 'certs' / 'apiserver.crt'}\n"
            f"users:\n- name: {name}\n  user:\n    token: {token}\n"
            f"contexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n"
            f"current-context: {name}\n", encoding="utf-8")
        return path

    def api_client(self, token: str = ADMIN_TOKEN) -> Any:
        from kubernetes import config
        return config.new_client_from_config(config_file=str(self.kubeconfig(token, "admin")))

    def _start(self, args: list[str], log: str) -> None:
        path = self.folder / log
        with open(path, "wb") as handle:  # the child keeps its own descriptor
            self.processes.append(subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT))
        self.logs.append(path)

    def _wait_ready(self, timeout: float = 90) -> None:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        request = urllib.request.Request(f"{self.url}/readyz", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process, log in zip(self.processes, self.logs, strict=True):
                if process.poll() is not None:
                    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                    raise ControlPlaneError(f"{process.args[0]} exited ({process.returncode}); {log}:\n{tail}")
            try:
                with urllib.request.urlopen(request, context=context, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise ControlPlaneError(f"kube-apiserver not ready after {timeout}s; logs in {self.folder}")

    def start(self) -> ControlPlane:
        bins = binaries()
        etcd_port, peer_port, self.port = free_port(), free_port(), free_port()
        (self.folder / "certs").mkdir(parents=True, exist_ok=True)
        sa_key, sa_pub = _rsa_key(self.folder)
        tokens = self.folder / "tokens.csv"
        tokens.write_text(f'{ADMIN_TOKEN},crosspath-admin,1,"system:masters"\n'
                          f"{READER_TOKEN},{READER_USER},2\n"
                          f"{LIMITED_TOKEN},crosspath-limited,3\n", encoding="utf-8")
        self._start([str(bins["etcd"]), "--data-dir", str(self.folder / "etcd"), "--name", "test",
                     "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
                     "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
                     "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
                     "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
                     "--initial-cluster", f"test=http://127.0.0.1:{peer_port}"], "etcd.log")
        self._start([str(bins["kube-apiserver"]), f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                     "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.port}",
                     "--insecure-port=0", f"--cert-dir={self.folder / 'certs'}", f"--token-auth-file={tokens}",
                     "--authorization-mode=RBAC", f"--service-account-key-file={sa_pub}",
                     f"--service-account-signing-key-file={sa_key}",
                     "--service-account-issuer=https://kubernetes.default.svc",
                     "--service-cluster-ip-range=10.96.0.0/16", "--allow-privileged=true",
                     "--enable-priority-and-fairness=false",
                     "--profiling=false"], "kube-apiserver.log")
        self._wait_ready()
        self._start([str(bins["kube-controller-manager"]), f"--kubeconfig={self.kubeconfig(ADMIN_TOKEN, 'kcm')}",
                     f"--service-account-private-key-file={sa_key}",
                     f"--root-ca-file={self.folder / 'certs' / 'apiserver.crt'}",
                     "--controllers=serviceaccount-token,serviceaccount,clusterrole-aggregation",
                     "--leader-elect=false", "--port=0", "--secure-port=0", "--use-service-account-credentials=false"],
                    "kube-controller-manager.log")
        return self

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        self.logs.clear()


def wait_for(check, what: str, timeout: float = 60, interval: float = 0.3) -> Any:
    """Poll `check()` until it returns something truthy (controllers work asynchronously)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - retried until the deadline, then reported
            last = exc
        time.sleep(interval)
    raise ControlPlaneError(f"timed out waiting for {what}" + (f": {last}" if last else ""))

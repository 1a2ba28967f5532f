"""Which pods let a shell in them reach their node (and so every service-account token mounted there).

Pure: reads one Pod spec. A pod escapes to its node when it is privileged, shares the host's PID
namespace (hostPID: /proc/<pid>/root of the other pods' processes), adds a capability that breaks out
of the container (SYS_ADMIN: mounts and cgroup release agents; SYS_MODULE: kernel modules), or mounts
a host path that holds the node's pod tokens, kubelet credentials or a container runtime socket.
SYS_PTRACE only reaches the pod's own processes unless the pod also has hostPID (KubeHound's
CE_SYS_PTRACE needs both), so it adds nothing alone. A hostPath such as /tmp/logs or /var/log does
not escape.
"""

from __future__ import annotations

import posixpath
from typing import Any

ESCAPE_CAPABILITIES = ("SYS_ADMIN", "SYS_MODULE")
# Host paths whose whole tree reaches tokens or root on the node: pod volumes (projected tokens) and
# kubelet credentials, the control-plane / kubelet configuration, container runtime sockets.
SENSITIVE_TREES = ("/var/lib/kubelet", "/etc/kubernetes", "/run/containerd", "/var/run/containerd",
                   "/run/crio", "/var/run/crio")
# Host paths that escape as a whole but not through every path below them: a runtime's data directory
# (its containers/ logs are what log shippers mount), a runtime socket, /proc (core_pattern; lxcfs
# mounts single files below it).
SENSITIVE_ENTRIES = ("/var/lib/docker", "/var/lib/containerd", "/var/lib/containers", "/var/run/docker.sock",
                     "/run/docker.sock", "/var/run/cri-dockerd.sock", "/run/cri-dockerd.sock", "/proc")


def _normal(path: str) -> str:
    return posixpath.normpath("/" + path.strip()).replace("//", "/")


def escaping_host_path(path: str) -> bool:
    """Does mounting this host path reach the node: `/`, a sensitive path, a directory above one, or a
    path inside a sensitive tree?"""
    path = _normal(path)
    for sensitive in (*SENSITIVE_TREES, *SENSITIVE_ENTRIES):
        if path == "/" or sensitive == path or sensitive.startswith(path + "/"):
            return True
    return any(path.startswith(tree + "/") for tree in SENSITIVE_TREES)


def _capabilities(container: dict[str, Any]) -> set[str]:
    added = ((container.get("securityContext") or {}).get("capabilities") or {}).get("add") or []
    names = {str(c).upper().removeprefix("CAP_") for c in added if isinstance(c, str)}
    return set(ESCAPE_CAPABILITIES) | {"SYS_PTRACE"} if "ALL" in names else names


def node_escape(spec: dict[str, Any]) -> tuple[str, ...]:
    """Why a shell in this pod reaches its node (empty: it does not), e.g. ("privileged", "hostPath /")."""
    containers = [c for key in ("initContainers", "containers", "ephemeralContainers")
                  for c in spec.get(key) or [] if isinstance(c, dict)]
    reasons: list[str] = []
    if any((c.get("securityContext") or {}).get("privileged") is True for c in containers):
        reasons.append("privileged")
    host_pid = spec.get("hostPID") is True
    capabilities = set().union(*(_capabilities(c) for c in containers)) if containers else set()
    if host_pid:
        reasons.append("hostPID with SYS_PTRACE" if "SYS_PTRACE" in capabilities else "hostPID")
    reasons += [f"capability {c}" for c in ESCAPE_CAPABILITIES if c in capabilities]
    for volume in spec.get("volumes") or []:
        host_path = volume.get("hostPath") if isinstance(volume, dict) else None
        if isinstance(host_path, dict) and isinstance(host_path.get("path"), str) \
                and escaping_host_path(host_path["path"]):
            reasons.append(f"hostPath {_normal(host_path['path'])}")
    return tuple(dict.fromkeys(reasons))


def host_paths(spec: dict[str, Any]) -> list[str]:
    """Every hostPath the pod mounts (escaping or not)."""
    return [_normal(v["hostPath"]["path"]) for v in spec.get("volumes") or []
            if isinstance(v, dict) and isinstance(v.get("hostPath"), dict)
            and isinstance(v["hostPath"].get("path"), str)]

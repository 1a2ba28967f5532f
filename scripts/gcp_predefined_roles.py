"""Generate collectors/gcp/predefined_roles.json from IAM roles API output.

Input: JSON files in the roles API's `Role` format, e.g.

    gcloud iam roles describe roles/storage.admin --format=json > scripts/gcp_predefined_roles/storage.admin.json

or whole `roles.list` pages (`GET https://iam.googleapis.com/v1/roles?view=FULL`, `{"roles": [...]}`).
The committed inputs in scripts/gcp_predefined_roles/ were transcribed from that output format;
`roles/owner`, `roles/editor`, `roles/viewer` and `roles/iam.securityAdmin` are marked `partial`
(a subset of their thousands of permissions: the ones the escalation techniques test).

    python scripts/gcp_predefined_roles.py [INPUT_DIR_OR_FILES...] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collectors.gcp.role_catalogue import CATALOGUE, role_entries

DEFAULT_INPUT = ROOT / "scripts" / "gcp_predefined_roles"


def input_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*.json")) if path.is_dir() else [path]
    return files


def build_catalogue(files: list[Path]) -> dict:
    roles: dict[str, dict] = {}
    for file in files:
        for role in role_entries(json.loads(file.read_text(encoding="utf-8"))):
            name = role.get("name", "")
            if not name.startswith("roles/") or not isinstance(role.get("includedPermissions"), list):
                raise SystemExit(f"{file}: {name or '?'}: need a predefined role with includedPermissions")
            entry = {"title": role.get("title", ""), "stage": role.get("stage", ""),
                     "includedPermissions": sorted(set(role["includedPermissions"]))}
            if role.get("partial"):
                entry["partial"] = True
            roles[name] = entry
    return {"format": "IAM admin v1 Role (name -> title, stage, includedPermissions)",
            "generated_by": "scripts/gcp_predefined_roles.py",
            "roles": dict(sorted(roles.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="*", type=Path, default=[DEFAULT_INPUT])
    parser.add_argument("--out", type=Path, default=CATALOGUE)
    args = parser.parse_args()
    catalogue = build_catalogue(input_files(args.inputs))
    args.out.write_text(json.dumps(catalogue, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"{len(catalogue['roles'])} roles -> {args.out}")


if __name__ == "__main__":
    main()

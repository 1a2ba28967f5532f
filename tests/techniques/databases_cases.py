"""Database technique cases: a membership granted WITH ADMIN OPTION (present) and without it (absent),
on PostgreSQL and on MySQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from collectors.databases import transform_mysql, transform_postgres
from tests.collectors.test_databases import my_dump, my_user, pg_dump, pg_role
from tests.techniques.cases import Case, Probe, Step, steps_of

PG_MEMBER, PG_ROLE = "postgres:pg1/role/ops", "postgres:pg1/role/writers"
MY_MEMBER, MY_ROLE = "mysql:my1/user/ops@%", "mysql:my1/user/writer@%"

CASES: dict[str, Case] = {
    "postgres.roles.grant-with-admin-option": Case(Probe(("postgres", True), PG_MEMBER, PG_ROLE),
                                                   (Probe(("postgres", False), PG_MEMBER, PG_ROLE),)),
    "mysql.roles.grant-with-admin-option": Case(Probe(("mysql", True), MY_MEMBER, MY_ROLE),
                                                (Probe(("mysql", False), MY_MEMBER, MY_ROLE),)),
}


def steps(scenario: Any, workdir: Path) -> list[Step]:
    engine, admin = scenario
    if engine == "postgres":
        records = transform_postgres(pg_dump([pg_role("writers"), pg_role("ops", rolcanlogin=True)], memberships=[
            {"role": "writers", "member": "ops", "admin_option": admin}]))
    else:
        users = [my_user("ops"), my_user("writer", account_locked="Y", has_password=False)]
        records = transform_mysql(my_dump(users, role_edges=[
            {"FROM_HOST": "%", "FROM_USER": "writer", "TO_HOST": "%", "TO_USER": "ops",
             "WITH_ADMIN_OPTION": "Y" if admin else "N"}]))
    return steps_of(records.edges)

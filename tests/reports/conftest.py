"""The shared Analysis: a NO_MFA cross-stack finding, a long-lived key, an excepted finding and two
findings with hostile names, over a snapshot where gcp is missing and kubernetes is partial."""

from __future__ import annotations

import pytest

from queries.findings import Analysis
from tests.reports.builders import (
    excepted_breakglass,
    hostile_names,
    long_lived_key,
    make_analysis,
    no_mfa_cross_stack,
)


@pytest.fixture
def analysis() -> Analysis:
    return make_analysis([excepted_breakglass(), no_mfa_cross_stack(), long_lived_key(), *hostile_names()])

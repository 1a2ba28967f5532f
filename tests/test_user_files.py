"""The files the user writes (policy, exceptions): every malformed file is one ConfigError that names
the file, the line and the fix, never a traceback and never a silently ignored field.

Both files go through queries/yaml_files.py; each defect is checked on both where it applies.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosspath.cli import main
from queries.exceptions import load_exceptions
from queries.policy import load_policy
from queries.yaml_files import MAX_ALIAS_EXPANSION, ConfigError

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
VALID_EXCEPTION = "  - finding: CP-0123456789ab\n    owner: sec\n    justification: ticket 1\n    expires: 2027-01-31\n"

Loader = Callable[[Path], object]
LOADERS: dict[str, Loader] = {"policy": load_policy, "exceptions": load_exceptions}


def _load(tmp_path: Path, which: str, body: str | bytes) -> object:
    path = tmp_path / f"{which}.yaml"
    path.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
    return LOADERS[which](path)


def _error(tmp_path: Path, which: str, body: str | bytes) -> str:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, which, body)
    message = str(raised.value)
    assert message.startswith(str(tmp_path / f"{which}.yaml") + ": "), message  # the file, first
    assert "Traceback" not in message
    return message


# --- unknown keys: never ignored -------------------------------------------------------------------


def test_a_typo_in_the_exceptions_key_is_an_error_not_an_empty_list(tmp_path):
    message = _error(tmp_path, "exceptions", "exception:\n" + VALID_EXCEPTION)
    assert "line 1: unknown field 'exception' (did you mean 'exceptions'?)" in message
    assert "allowed here: exceptions, notes" in message


def test_an_unknown_field_inside_an_exception_or_its_match_names_it(tmp_path):
    message = _error(tmp_path, "exceptions", "exceptions:\n" + VALID_EXCEPTION + "    expiry: 2027-01-01\n")
    assert "exception #1 (line 6): unknown field 'expiry'" in message
    message = _error(tmp_path, "exceptions", "exceptions:\n  - match: {entry: 'aws:*', gaptype: NO_MFA}\n"
                                             "    owner: a\n    justification: b\n    expires: 2027-01-01\n")
    assert "exception #1 (line 2): unknown field 'match.gaptype' (did you mean 'gap_type'?)" in message


def test_a_typo_in_a_top_level_policy_key_is_an_error(tmp_path):
    message = _error(tmp_path, "policy", "name: strict\nrule:\n  max_key_age: {max_age_days: 30}\n")
    assert "line 2: unknown field 'rule' (did you mean 'rules'?)" in message


def test_notes_hold_free_text_in_both_files(tmp_path):
    assert _load(tmp_path, "exceptions", "notes: {reviewed: 2026-10-01}\nexceptions:\n" + VALID_EXCEPTION)
    assert _load(tmp_path, "policy", "notes: reviewed by the SOC\nname: strict\n").name == "strict"


# --- a list where one value belongs, and the reverse -----------------------------------------------


@pytest.mark.parametrize(("which", "body", "expected"), [
    ("exceptions", ("exceptions:\n  - finding: CP-0123456789ab\n    owner: [sec, ops]\n    justification: b\n"
                    "    expires: 2027-01-01\n"),
     "exception #1 (line 3): field 'owner' must be one value (text), got a list of 2; write one value, not a list"),
    ("exceptions", ("exceptions:\n  - match:\n      entry: ['aws:*']\n    owner: sec\n    justification: b\n"
                    "    expires: 2027-01-01\n"),
     "exception #1 (line 3): field 'match.entry' must be one value (text), got a list of 1"),
    ("exceptions", "exceptions: CP-0123456789ab\n",
     "line 1: field 'exceptions' must be a list, got 'CP-0123456789ab'; write a list"),
    ("policy", "name: [strict, stricter]\n",
     "line 1: field 'name' must be one value (text), got a list of 2; write one value, not a list"),
    ("policy", "environment:\n  prod:\n    words: production\n",
     "line 3: field 'environment.prod.words' must be a list, got 'production'; write a list, e.g. words: [production]"),
    ("policy", "rules:\n  require_mfa: all\n",
     "line 2: field 'rules.require_mfa' must be a mapping of fields, got 'all'; write the fields under require_mfa:"),
])
def test_a_list_for_a_value_or_a_value_for_a_list_is_explained(tmp_path, which, body, expected):
    assert expected in _error(tmp_path, which, body)


def test_a_choice_outside_its_values_is_explained(tmp_path):
    message = _error(tmp_path, "policy", "privileged:\n  levels: [write, owner]\nseverity:\n  admin: severe\n")
    assert "line 2: field 'privileged.levels[1]' must be one of read, write, admin, got 'owner'" in message
    assert "line 4: field 'severity.admin' must be one of low, medium, high, critical, got 'severe'" in message


# --- dates -----------------------------------------------------------------------------------------


def test_an_impossible_date_names_the_month_and_its_days(tmp_path):
    message = _error(tmp_path, "exceptions", "exceptions:\n  - finding: CP-0123456789ab\n    owner: sec\n"
                                             "    justification: b\n    expires: 2027-02-30\n")
    assert ("exception #1 (line 5): field 'expires' must be a date like 2027-06-30, got '2027-02-30'; "
            "February 2027 has 28 days") in message


def test_dates_with_a_time_or_quoted_still_load(tmp_path):
    loaded = _load(tmp_path, "exceptions", "exceptions:\n  - finding: CP-0123456789ab\n    owner: sec\n"
                                           "    justification: b\n    expires: '2027-02-28T10:00:00Z'\n")
    assert str(loaded[0].expires) == "2027-02-28"


# --- bytes, duplicates and aliases -------------------------------------------------------------------


@pytest.mark.parametrize("which", ["policy", "exceptions"])
def test_bytes_that_are_not_utf8_give_the_line_and_the_fix(tmp_path, which):
    body = ("name: ok\nnotes: |\n  owner Ren\u00e9\n" if which == "policy"
            else "notes: |\n  owner Ren\u00e9\nexceptions: []\n").encode("latin-1")
    message = _error(tmp_path, which, body)
    line = 3 if which == "policy" else 2
    assert f"line {line}, column 12: byte 0xe9 is not UTF-8 text; save the file as UTF-8" in message


@pytest.mark.parametrize("which", ["policy", "exceptions"])
def test_a_key_written_twice_is_an_error_not_the_last_one_wins(tmp_path, which):
    key = "name: a\n" if which == "policy" else "exceptions: []\n"
    message = _error(tmp_path, which, key + "notes: x\n" + key)
    assert f"line 3: field '{key.split(':')[0]}' is written twice (first at line 1)" in message


def _billion_laughs(levels: int = 9) -> str:
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    return "notes:\n" + "\n".join("  " + line for line in lines) + "\n"


@pytest.mark.parametrize("which", ["policy", "exceptions"])
def test_an_alias_bomb_is_refused_before_it_is_built(tmp_path, which):
    started = time.monotonic()
    message = _error(tmp_path, which, _billion_laughs())
    assert time.monotonic() - started < 5  # 10^10 values were never built
    assert "line 3: the aliases (*l0 and 89 more) expand this file" in message
    assert f"more than the {MAX_ALIAS_EXPANSION:,} extra allowed" in message and "billion laughs" in message


def test_a_self_referencing_alias_is_refused(tmp_path):
    assert "line 1: an alias refers to the value that contains it" in _error(
        tmp_path, "exceptions", "exceptions: &loop [*loop]\n")


def test_ordinary_anchors_still_work(tmp_path):
    policy = _load(tmp_path, "policy", "notes:\n  words: &words [prod, live]\n"
                                       "environment:\n  prod:\n    words: *words\n")
    assert policy.environment_of("x", "live-db", None) == "prod"


# --- never a traceback, from the command line either -----------------------------------------------


@pytest.mark.parametrize(("option", "body", "expected"), [
    ("--exceptions", b"exception:\n" + VALID_EXCEPTION.encode(), "line 1: unknown field 'exception'"),
    ("--exceptions", b"exceptions:\n" + VALID_EXCEPTION.replace("2027-01-31", "2027-02-30").encode(),
     "February 2027 has 28 days"),
    ("--policy", b"name: caf\xe9\n", "byte 0xe9 is not UTF-8"),
    ("--policy", _billion_laughs().encode(), "billion laughs"),
])
def test_scan_reports_a_bad_file_as_an_error_with_exit_1(tmp_path, option, body, expected):
    path = tmp_path / "user.yaml"
    path.write_bytes(body)
    result = CliRunner().invoke(main, ["scan", str(SAMPLES), "--out", str(tmp_path / "out"), "--quiet",
                                       option, str(path)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # click's error path, not an exception escaping
    assert f"{path}: " in result.output and expected in result.output

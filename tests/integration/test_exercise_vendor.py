"""Kettle & Co, the exercise vendor of docs/plugins.md, behaves as the guide describes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from cmr_desktop.testing.exercise_vendor import CUSTOMER, TOKEN, ExerciseVendor

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def kettle() -> Iterator[ExerciseVendor]:
    with ExerciseVendor() as vendor:
        yield vendor


def _prefs(kettle: ExerciseVendor) -> str:
    return f"{kettle.url}/customers/{CUSTOMER}/preferences"


def _patch(kettle: ExerciseVendor, body: Any, **headers: str) -> requests.Response:
    return requests.patch(
        _prefs(kettle), data=json.dumps(body), headers={**AUTH, **headers}, timeout=5
    )


def test_options_and_preferences_have_the_documented_shapes(kettle: ExerciseVendor) -> None:
    options = requests.get(f"{kettle.url}/options", headers=AUTH, timeout=5).json()
    assert options["channels"] == ["email", "sms", "post"]
    safety = options["newsletters"][2]
    assert (safety["id"], safety["mandatory"]) == ("safety", True)
    assert safety["why"]
    read = requests.get(_prefs(kettle), headers=AUTH, timeout=5)
    assert read.headers["ETag"] == '"r1"'
    assert read.json() == {
        "customer": "C-1001",
        "contact": {"email": True, "sms": False, "post": True},
        "newsletters": {"recipes": True, "deals": False, "safety": True},
    }


def test_a_patch_changes_only_the_keys_it_names_and_moves_the_version(
    kettle: ExerciseVendor,
) -> None:
    done = _patch(
        kettle, {"contact": {"sms": True}}, **{"If-Match": '"r1"', "Idempotency-Key": "k1"}
    )
    assert done.status_code == 200
    assert done.headers["ETag"] == '"r2"'
    assert done.json()["contact"] == {"email": True, "sms": True, "post": True}
    assert kettle.writes_applied == 1


def test_a_replayed_key_is_answered_again_but_applied_once(kettle: ExerciseVendor) -> None:
    headers = {"If-Match": '"r1"', "Idempotency-Key": "k1"}
    first = _patch(kettle, {"contact": {"sms": True}}, **headers)
    again = _patch(kettle, {"contact": {"sms": True}}, **headers)
    assert (again.status_code, again.json(), again.headers["ETag"]) == (
        200,
        first.json(),
        first.headers["ETag"],
    )
    assert kettle.writes_applied == 1
    other = _patch(kettle, {"contact": {"sms": False}}, **headers)
    assert (other.status_code, other.json()["error"]) == (422, "idempotency_key_reused")


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        ({"contact": {"sms": True}}, {"Idempotency-Key": "k"}, 428, "if_match_required"),
        ({"contact": {"sms": True}}, {"If-Match": '"r1"'}, 400, "idempotency_key_required"),
        ({"contact": {"sms": True}}, {"If-Match": '"r9"', "Idempotency-Key": "k"}, 412, None),
        (
            {"newsletters": {"safety": False}},
            {"If-Match": '"r1"', "Idempotency-Key": "k"},
            422,
            "invalid",
        ),
    ],
    ids=["no If-Match", "no key", "stale version", "safety off"],
)
def test_a_refused_patch_says_why_and_changes_nothing(
    kettle: ExerciseVendor, body: Any, headers: dict[str, str], status: int, error: str | None
) -> None:
    answer = _patch(kettle, body, **headers)
    assert answer.status_code == status
    assert answer.json()["error"] == (error or "version_mismatch")
    if status == 422:
        assert answer.json()["field"] == "newsletters.safety"
    assert kettle.writes_applied == 0


def test_a_wrong_token_or_customer_is_refused(kettle: ExerciseVendor) -> None:
    wrong = requests.get(_prefs(kettle), headers={"Authorization": "Bearer nope"}, timeout=5)
    assert (wrong.status_code, wrong.json()["error"]) == (401, "bad_token")
    unknown = requests.get(f"{kettle.url}/customers/C-2/preferences", headers=AUTH, timeout=5)
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_customer")


def test_python_m_serves_it_and_prints_how_to_reach_it() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cmr_desktop.testing.exercise_vendor"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        second = proc.stdout.readline()
        assert first.startswith("Kettle & Co exercise API at http://127.0.0.1:"), first
        url = first.rsplit(" ", 1)[1].strip()
        assert f"token: {TOKEN}" in second
        answer = requests.get(f"{url}/options", headers=AUTH, timeout=5)
        assert answer.status_code == 200
    finally:
        proc.kill()
        proc.communicate(timeout=10)


def test_a_port_in_use_is_one_line_not_a_traceback(kettle: ExerciseVendor) -> None:
    port = kettle.url.split(":")[2].split("/")[0]
    done = subprocess.run(
        [sys.executable, "-m", "cmr_desktop.testing.exercise_vendor", "--port", port],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"python -m cmr_desktop.testing.exercise_vendor: error: cannot listen on port {port}"
    )
    assert done.stderr.count("\n") == 1

"""How the suite itself runs: Hypothesis profiles and slow tests (tests/conftest.py).

Each case runs a small suite in a fresh pytest process that uses this suite's conftest, so
the settings seen are the ones a real ``./scripts/check`` or ``.ci/run`` would get.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import os
import pytest
from hypothesis import given, settings, strategies as st

SEEN = []


def test_profile_reports_itself():
    current = settings()
    print(f"PROFILE={settings.get_current_profile_name()} examples={current.max_examples} "
          f"derandomize={current.derandomize} deadline={current.deadline} "
          f"print_blob={current.print_blob}")


@given(st.integers())
def test_count_examples(n):
    SEEN.append(n)


def test_examples_run():
    print(f"EXAMPLES={len(SEEN)}")


@pytest.mark.slow
def test_a_slow_one():
    print("SLOW RAN")
"""


def _suite(pytester: pytest.Pytester) -> None:
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    pytester.makeini("[pytest]\naddopts = --strict-markers -ra\nmarkers =\n    slow: slow\n")
    pytester.makepyfile(test_probe=PROBE)


def _run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *args: str
) -> pytest.RunResult:
    for name in ("HYPOTHESIS_PROFILE", "CMR_RUN_SLOW", "CI"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # Without the heavy plugins this probe does not use (it starts faster).
    quiet = ("-p", "no:schemathesis", "-p", "no:anyio", "-p", "no:pytestqt.plugin")
    return pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", *quiet, *args)


def test_check_runs_the_fast_profile_and_skips_slow_tests_by_default(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _suite(pytester)
    res = _run(pytester, monkeypatch, {"CI": "1"})  # not Hypothesis's own "ci" profile either
    res.assert_outcomes(passed=3, skipped=1)
    out = res.stdout.str()
    assert "PROFILE=fast examples=25 derandomize=False deadline=None" in out
    assert "EXAMPLES=25" in out
    assert "SLOW RAN" not in out
    res.stdout.fnmatch_lines(["*SKIPPED*slow: run with --run-slow or CMR_RUN_SLOW=1 (CI does)*"])
    res.stdout.fnmatch_lines(["hypothesis profile: fast; slow tests: skipped*"])


def test_ci_selects_the_thorough_profile_and_runs_slow_tests(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _suite(pytester)
    res = _run(pytester, monkeypatch, {"HYPOTHESIS_PROFILE": "thorough", "CMR_RUN_SLOW": "1"})
    res.assert_outcomes(passed=4)
    out = res.stdout.str()
    assert "PROFILE=thorough examples=300 derandomize=True deadline=None print_blob=True" in out
    assert "EXAMPLES=300" in out
    assert "SLOW RAN" in out


def test_run_slow_option_runs_slow_tests(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _suite(pytester)
    res = _run(pytester, monkeypatch, {}, "--run-slow", "-k", "slow")
    res.assert_outcomes(passed=1, deselected=3)
    assert "SLOW RAN" in res.stdout.str()


def test_an_unknown_profile_is_one_clear_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _suite(pytester)
    res = _run(pytester, monkeypatch, {"HYPOTHESIS_PROFILE": "fastest"})
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    known = "(known: fast, thorough)"
    res.stderr.fnmatch_lines([f"ERROR: HYPOTHESIS_PROFILE='fastest' is not a profile * {known}"])
    assert "Traceback" not in res.stderr.str()


def test_ci_script_selects_the_thorough_profile_and_the_slow_tests() -> None:
    # .ci/run cannot be run from a test (it installs); what it exports is what CI gets.
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "export HYPOTHESIS_PROFILE=thorough" in script
    assert "export CMR_RUN_SLOW=1" in script
    assert "./scripts/check" in script
    assert os.access(ROOT / ".ci" / "run", os.X_OK)

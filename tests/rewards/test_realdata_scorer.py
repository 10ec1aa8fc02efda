"""Every real scorer case of kind ``bug`` in ``../shared/realdata/scorer_cases.jsonl`` gets its expected
verdict (skips when that copy is absent; ``agreement_cases.py`` reproduces each pattern regardless)."""

from __future__ import annotations

import os

import pytest

from rlsd_verl.rewards import compute_score
from rlsd_verl.utils.io import read_jsonl

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REALDATA = os.environ.get("RLSD_REALDATA_DIR") or os.path.join(REPO, "..", "shared", "realdata")
CASES_PATH = os.path.join(REALDATA, "scorer_cases.jsonl")


def _cases():
    if not os.path.isfile(CASES_PATH):
        return []
    return [c for _, c in read_jsonl(CASES_PATH)]


CASES = _cases()


@pytest.mark.skipif(not CASES, reason=f"no real scorer cases at {CASES_PATH} (set RLSD_REALDATA_DIR)")
def test_every_bug_case_gets_its_expected_verdict():
    wrong = []
    bugs = [c for c in CASES if c["kind"] == "bug"]
    assert bugs
    for c in bugs:
        out = compute_score(c["data_source"], c["response"], c["ground_truth"], c["extra_info"], format_weight=0.0)
        if out["acc"] != c["expected_acc"]:
            wrong.append((c["case"], c["category"], out["acc"], c["expected_acc"], out["pred"][:60]))
    assert not wrong, "\n".join(map(str, wrong))

"""The builders on real rows of the benchmarks' releases, when a copy of them sits beside the checkout.

CI keeps ``shared/realdata`` next to the clone (``../shared/realdata``; or set ``RLSD_REALDATA_DIR``).
Without it these tests skip; ``tests/data`` fixtures reproduce each quirk on their own.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
from PIL import Image

from rlsd_verl.data import mathvista, mmfinereason, wemath
from rlsd_verl.data.schema import check_parquet

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REALDATA = os.environ.get("RLSD_REALDATA_DIR") or os.path.join(REPO, "..", "shared", "realdata")
pytestmark = pytest.mark.skipif(not os.path.isdir(REALDATA),
                                reason=f"no real benchmark rows at {REALDATA} (set RLSD_REALDATA_DIR)")


def _check_complete(s: dict, n: int) -> None:
    assert s["source_rows_read"] == n and s["rows"] == n, s
    assert s["skipped_bad_total"] == 0 and s["dropped_total"] == 0 and s["problems_path"] is None
    for path in s["outputs"].values():
        assert check_parquet(path)["rows"] == s["rows"]


def test_mathvista_duplicate_choice_rows_convert(tmp_path):
    src = tmp_path / "mathvista"
    shutil.copytree(os.path.join(REALDATA, "mathvista_dupchoice"), src)
    records = json.loads((src / "data/testmini.json").read_text())
    for r in records.values():  # the GitHub release has no images: grey placeholders
        p = src / r["image"]
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (32, 32), (128, 128, 128)).save(p)
    s = mathvista.build_mathvista(input=str(src), output_dir=str(tmp_path / "out"), allow_count_mismatch=True,
                                  progress=False)
    _check_complete(s, len(records))
    assert s["notes"]["duplicate_choice_gold"] == 1


@pytest.mark.parametrize("folder", ["wemath_badopts", "wemath_letteropts"])
def test_wemath_real_option_strings_convert(tmp_path, folder):
    n = len(json.load(open(os.path.join(REALDATA, folder, "testmini.json"))))
    s = wemath.build_wemath(input=os.path.join(REALDATA, folder), output_dir=str(tmp_path / "out"),
                            allow_count_mismatch=True, progress=False)
    _check_complete(s, n)


def test_mmfinereason_per_subset_ids_convert(tmp_path):
    s = mmfinereason.build_mmfinereason(input=os.path.join(REALDATA, "mmfinereason_dupids"),
                                        output_dir=str(tmp_path / "out"), progress=False)
    _check_complete(s, 4)

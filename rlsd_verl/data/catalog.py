"""Which builder writes which ``data_source``, and the paper's five evaluation sets (Table 2).

Reward functions dispatch on ``data_source`` and verl groups validation metrics by it; this table is
the one place that lists the values the builders write.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetInfo:
    data_source: str
    module: str  # rlsd_verl.data.<module>
    hub_repo: str
    splits: tuple[str, ...]
    kind: str  # "eval" | "train"


DATASETS: dict[str, DatasetInfo] = {
    "mmmu": DatasetInfo("MMMU/MMMU", "mmmu", "MMMU/MMMU", ("dev", "validation", "test"), "eval"),
    "mathvista": DatasetInfo("AI4Math/MathVista", "mathvista", "AI4Math/MathVista", ("testmini",), "eval"),
    "mathvision": DatasetInfo("MathLLMs/MathVision", "mathvision", "MathLLMs/MathVision", ("test", "testmini"), "eval"),
    "zerobench": DatasetInfo("jonathan-roberts1/zerobench", "zerobench", "jonathan-roberts1/zerobench",
                             ("zerobench",), "eval"),
    "zerobench_subquestions": DatasetInfo("jonathan-roberts1/zerobench_subquestions", "zerobench",
                                          "jonathan-roberts1/zerobench", ("zerobench_subquestions",), "eval"),
    "wemath": DatasetInfo("We-Math/We-Math", "wemath", "We-Math/We-Math", ("testmini",), "eval"),
    "geometry3k": DatasetInfo("hiyouga/geometry3k", "geometry3k", "hiyouga/geometry3k",
                              ("train", "validation", "test"), "train"),
    "mmfinereason": DatasetInfo("OpenDataArena/MMFineReason-SFT-123K-Qwen3-VL-235B-Thinking", "mmfinereason",
                                "OpenDataArena/MMFineReason-SFT-123K-Qwen3-VL-235B-Thinking", ("train",), "train"),
}

DATA_SOURCES = {info.data_source: name for name, info in DATASETS.items()}

# The paper's Table 2 columns and the split each is built from (data.md §2.5 / paper.md §7: MMMU val
# (900), MathVista testmini (1000), MathVision test (3040), ZeroBench sub-questions (334), WeMath
# testmini (1740); the paper does not state its splits, these are the ones its numbers fit best).
PAPER_BENCHMARKS: tuple[tuple[str, str], ...] = (
    ("mmmu", "validation"),
    ("mathvista", "testmini"),
    ("mathvision", "test"),
    ("zerobench", "zerobench_subquestions"),
    ("wemath", "testmini"),
)

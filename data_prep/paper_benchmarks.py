#!/usr/bin/env python
"""The paper's five eval sets in one go.

Usage: python data_prep/paper_benchmarks.py (--root ROOT | --from-hub) --output-dir DIR

ROOT holds MMMU/ MathVista/ MathVision/ ZeroBench/ WeMath/. Logic: rlsd_verl/data/paper_benchmarks.py.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

from rlsd_verl.data.paper_benchmarks import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

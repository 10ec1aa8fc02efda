#!/usr/bin/env python
"""ZeroBench -> verl parquet. Usage: python data_prep/zerobench.py --input PATH --split {zerobench,zerobench_subquestions,main,sub} --output-dir DIR

Logic and rules: rlsd_verl/data/zerobench.py (see data_prep/README.md).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

from rlsd_verl.data.zerobench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

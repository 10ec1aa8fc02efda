#!/usr/bin/env python
"""geometry3k -> verl parquet. Usage: python data_prep/geometry3k.py --input PATH --split {train,validation,test} --output-dir DIR

Logic and rules: rlsd_verl/data/geometry3k.py (see data_prep/README.md).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

from rlsd_verl.data.geometry3k import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""MathVision -> verl parquet. Usage: python data_prep/mathvision.py --input PATH --split {test,testmini} --output-dir DIR

Logic and rules: rlsd_verl/data/mathvision.py (see data_prep/README.md).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

from rlsd_verl.data.mathvision import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

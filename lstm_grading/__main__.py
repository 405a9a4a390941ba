"""``python -m lstm_grading``: the same command as ``lstm-autograde`` (for a Python without
the installed script on its PATH, e.g. ``.venv/bin/python -m lstm_grading ps01``)."""

import sys

from .cli import main

sys.exit(main())

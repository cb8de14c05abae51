"""Deploy tests share two helper modules that live beside them (pytest runs with importlib mode)."""

from __future__ import annotations

import sys
from pathlib import Path

# importlib mode puts no test directory on sys.path; the helpers are plain modules beside this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))

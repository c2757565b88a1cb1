import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # lint_cases.py, next to the tests

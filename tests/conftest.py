import sys
from pathlib import Path

# Lets test modules share helpers (tests/ is not a package).
sys.path.insert(0, str(Path(__file__).parent))

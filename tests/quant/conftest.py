import sys
from pathlib import Path

# The reference twins live beside the tests (tests/quant/quant_naive.py; a unique module name, since other stages keep their own twins), stumpy-style.
sys.path.insert(0, str(Path(__file__).parent))

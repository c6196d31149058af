import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))  # after tests/, so nothing here shadows it

"""The training-data builder: real Foley recordings from freely licensed Debian packages,
cut into one-shots and placed on exact onsets in procedurally rendered video clips
and in pure-audio clips.

Build with `python -m foley_engine.data build --out DIR` or `build_dataset`;
read a split back with `load_split`.
"""

from .builder import DataConfig, DatasetError, DatasetSummary, build_dataset
from .records import ClipRecord, OnsetRecord, load_split
from .splits import SPLITS
from .taxonomy import CLASSES

__all__ = [
    "CLASSES",
    "SPLITS",
    "ClipRecord",
    "DataConfig",
    "DatasetError",
    "DatasetSummary",
    "OnsetRecord",
    "build_dataset",
    "load_split",
]

"""Names for the numpy arrays ranking passes between its modules, by what their cells hold.

Shapes are in the docstrings and comments where the arrays are made: (papers,) for one query or
one profile, (profiles, papers) for a chunk.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]  # scores, strengths, weights, similarities
Flags = NDArray[np.bool_]  # masks: passing, matched, dropped, boosted
Positions = NDArray[np.intp]  # paper positions in the index, topic slots, text-table rows
Vector = NDArray[np.float32]  # a tf-idf vector in the index's term columns
Embeddings = NDArray[np.float32]  # unit-length sentence embeddings, one row per text

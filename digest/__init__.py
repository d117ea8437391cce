"""digest: a self-hosted daily email of the research papers that match each subscriber's topics.

The pipeline reads top to bottom in the package layout: ingest → store → rank → render → deliver,
orchestrated by :mod:`digest.pipeline`.
"""

__version__ = "0.1.0"

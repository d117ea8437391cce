"""Sources → FeedItems: fetch bytes (fetch.py), read them (parse.py), name each paper (ids.py);
what one source's ingest did (report.py).

No database and no SMTP here. Import the modules directly; this package imports nothing so that
``digest.ingest.ids`` stays cheap to import.
"""

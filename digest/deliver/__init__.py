"""The outbox: claim, compose, send, record.

send_loop runs it on the :class:`~digest.deliver.send_loop.DeliveryParts` an entry point hands
it; recorded reads claimed rows back as digests; outcomes says what a result does to a row and
its subscriber, by the values in policy; send_processes sends a large run from several
processes. transport/ holds the ways a message leaves (an SMTP pool and session, a folder).
"""

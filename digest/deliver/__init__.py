"""The outbox: claim, compose, send, record; retry and bounce policy; the sending processes.

transport/ holds the ways a message leaves (an SMTP pool and session, an outbox folder).
"""

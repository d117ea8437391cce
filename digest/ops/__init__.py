"""What an operator sees and when a digest is due: run tracking, health, metrics, status, logging.

Also the pure due-time rules. Below pipeline/, which uses them; only entry points hold a Service.
"""

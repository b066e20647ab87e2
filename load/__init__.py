"""The load harness: see load/run.py."""

"""The pure core: plain functions over plain data.

Nothing under `worker.core` touches the network, a database, Celery, the clock or the
filesystem; time arrives as an argument. tests/test_core_purity.py enforces it.
"""

"""Loaded by pytest (`-p tests.environment`) before Django reads its settings.

Each run gets its own data folder (database, media, embedded Redis socket) and its own
Celery queue, so a run never sees a previous run's files or a stale message on a shared
Redis. Child processes (the Celery worker, Daphne) inherit these variables.
"""

import os
import tempfile

os.environ.setdefault("DEEPIMAGE_DATA_DIR", tempfile.mkdtemp(prefix="deepimage-test-"))
os.environ["DEEPIMAGE_QUEUE"] = f"generation-test-{os.getpid()}"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

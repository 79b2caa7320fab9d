"""``[core] hostname_callable`` for the Celery test: names each worker's tasks by worker."""

import os
import socket


def get() -> str:
    """Return ``HUMANGAP_WORKER_NAME``, else the machine's name as Airflow would."""
    return os.environ.get("HUMANGAP_WORKER_NAME") or socket.getfqdn()

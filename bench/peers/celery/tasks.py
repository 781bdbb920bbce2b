"""The Celery side of swamp-bench's throughput comparison: one no-op task.

Configured from the environment by driver.py:
  BENCH_REDIS_URL   broker and result backend (redis://127.0.0.1:<port>/0)
  BENCH_ACKS_LATE   "1": acknowledge after the task ran (at-least-once); else Celery's default,
                    acknowledge when the worker starts the task (at-most-once)
"""
import os
import time

from celery import Celery

url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
app = Celery("swampbench", broker=url, backend=url)
acks_late = os.environ.get("BENCH_ACKS_LATE") == "1"
app.conf.update(
    task_acks_late=acks_late,
    task_reject_on_worker_lost=acks_late,
    result_expires=3600,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="swampbench.noop")
def noop():
    # The start time (wall clock of this machine) so the driver can measure submit→start.
    return time.time()

#!/usr/bin/python3
"""Celery + Redis on the no-op workload of `swamp-bench throughput W M`.

Starts its own redis-server on 127.0.0.1 (a free port, a fresh directory) and a Celery worker with
W threads (or processes), then:
  1. idle latency: K tasks one at a time: submit→start (the task's own start time) and
     submit→result;
  2. throughput: M tasks submitted from one thread as fast as delay() returns, then every result
     waited for; tasks/s from the first submit to the last result.
Prints one JSON object. Two configurations (--mode):
  default  Celery's defaults (ack when the task starts: at-most-once) and Redis without
           persistence (results and queue in memory only)
  durable  task_acks_late (ack after the task ran: at-least-once) and Redis with an append-only
           file, fsync every second (what survives a Redis process crash, like swamp's SQLite
           WAL with synchronous=NORMAL; neither survives a power loss intact)
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def pct(samples, p):
    if not samples:
        return -1
    s = sorted(samples)
    rank = max(1, min(len(s), int(-(-p / 100.0 * len(s) // 1))))
    return s[rank - 1]


def summary(samples):
    return {"p50Ms": pct(samples, 50) * 1000, "p99Ms": pct(samples, 99) * 1000,
            "p999Ms": pct(samples, 99.9) * 1000, "samples": len(samples)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workers", type=int, help="worker concurrency (threads or processes)")
    parser.add_argument("tasks", type=int, help="tasks in the throughput phase")
    parser.add_argument("--mode", choices=["default", "durable"], default="durable")
    parser.add_argument("--pool", choices=["threads", "prefork"], default="threads")
    parser.add_argument("--probe", type=int, default=1000, help="tasks of the idle-latency probe")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="swamp-bench-celery-")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis_args = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", work,
                  "--save", "", "--daemonize", "no", "--loglevel", "warning"]
    redis_args += ["--appendonly", "yes", "--appendfsync", "everysec"] if args.mode == "durable" else ["--appendonly", "no"]
    children = []
    try:
        redis = subprocess.Popen(redis_args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        children.append(redis)
        env = dict(os.environ, BENCH_REDIS_URL=url, BENCH_ACKS_LATE="1" if args.mode == "durable" else "0",
                   PYTHONPATH=HERE)
        os.environ.update(env)
        sys.path.insert(0, HERE)
        import tasks  # noqa: E402  (needs the environment above)

        def redis_up():
            try:
                return tasks.app.backend.client.ping()
            except Exception:
                return False
        wait_for(redis_up, 30, "redis-server")
        worker = subprocess.Popen(
            ["/usr/bin/python3", "-m", "celery", "-A", "tasks", "worker", "--pool", args.pool,
             "--concurrency", str(args.workers), "--loglevel", "WARNING", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-n", f"bench@{port}"],
            cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "worker.log"), "w"))
        children.append(worker)
        wait_for(lambda: bool(tasks.app.control.ping(timeout=0.5)), 60, "the celery worker")
        # Warm-up: every pool thread/process has imported the task.
        tasks.noop.delay().get(timeout=60)

        start_lat, finish_lat = [], []
        for _ in range(args.probe):
            t0 = time.time()
            started = tasks.noop.delay().get(timeout=60)
            t1 = time.time()
            start_lat.append(started - t0)
            finish_lat.append(t1 - t0)

        submitted = []
        first = time.time()
        for _ in range(args.tasks):
            submitted.append((time.time(), tasks.noop.delay()))
        from celery.result import ResultSet
        results = ResultSet([r for _, r in submitted])
        values = results.join_native(timeout=600) if results.supports_native_join else results.join(timeout=600)
        last = time.time()
        ok = len(values) == args.tasks and all(isinstance(v, float) for v in values)
        out = {
            "peer": "celery+redis", "mode": args.mode, "pool": args.pool, "workers": args.workers,
            "tasks": args.tasks, "tasksPerSecond": args.tasks / (last - first), "seconds": last - first,
            "idleSubmitToStart": summary(start_lat), "idleSubmitToFinished": summary(finish_lat),
            "loadedSubmitToStart": summary([v - t for (t, _), v in zip(submitted, values)]),
            "allResults": ok,
            "celery": __import__("celery").__version__,
            "redis": subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2],
        }
        print(json.dumps(out))
        # Drop every pending result before Redis goes away (their finalizers talk to it).
        del submitted, results, values
        __import__("gc").collect()
        return 0 if ok else 1
    finally:
        for child in reversed(children):
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

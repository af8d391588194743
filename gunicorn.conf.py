"""Production gunicorn settings: ``gunicorn -c gunicorn.conf.py governance.wsgi``.

Every value can be overridden from the environment (``GUNICORN_*``) or the command line.
"""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
# gthread, answering gunicorn's own errors (bad request line, header too large) as JSON.
worker_class = "governance.gunicorn_worker.JsonErrorThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (memory fragmentation), staggered so they never restart together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 20_000))
max_requests_jitter = max_requests // 10
# Request limits enforced by gunicorn before Django sees a request (answered as JSON by the worker):
# a request line up to 8 KiB (414 above), at most 100 header fields, each up to 16 KiB (431 above:
# twice gunicorn's default, so large but real cookies and tokens reach Django). Bodies are limited
# by Django (ARBITER_MAX_REQUEST_BYTES, 413).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 16 * 1024
accesslog = None  # one JSON log line per request comes from Arbiter's own logging and spans
preload_app = True


def post_fork(server: object, worker: object) -> None:
    # Objects loaded before the fork (Django, the apps, compiled regex sets) never become garbage:
    # freezing them keeps the collector from rescanning them, which trims tail latency.
    gc.freeze()

"""Orchestration's plain-Python parts: prompt rendering, endpoint routing, the streaming output guard.

No Django, DRF or Celery here (an import-linter contract checks it): the services hand in
plain values and get plain values back, so each part is tested and benchmarked on its own.
"""

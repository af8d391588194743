"""Signals through which the core tells the apps above it what happened.

The core never imports an app above it (see DESIGN.md); apps connect their receivers in
``AppConfig.ready()``, each receiver one line calling a service.
"""

from django.dispatch import Signal

#: ``project=<Project>``, sent inside the transaction that creates a project.
project_created = Signal()

#: ``alert=<Alert>, created=<bool>``, sent after an alert is raised or repeated.
alert_raised = Signal()

"""The Celery application.

With no ``CELERY_BROKER_URL`` the settings turn on eager mode, so tasks run in the calling
process and ``make run`` needs no broker.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("chorus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

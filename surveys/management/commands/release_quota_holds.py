from __future__ import annotations

from django.core.management.base import BaseCommand

from surveys.services import quota_release_all_expired


class Command(BaseCommand):
    help = "Give back the quota places held by participants whose hold has expired."

    def handle(self, *args, **options):
        self.stdout.write(f"{quota_release_all_expired()} places given back.")

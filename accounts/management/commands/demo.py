from __future__ import annotations

import importlib
import importlib.util

from django.core.management.base import BaseCommand

from accounts.demo import DEMO_PASSWORD, PEOPLE, load_people

# Benchmarks read what the surveys and annotation demos made, and evaluation scores models on
# the versions benchmarks built, so they come last.
DEMO_APPS = ["surveys", "annotation", "benchmarks", "evaluation"]


class Command(BaseCommand):
    help = "Load the demo people, study, survey, projects and datasets (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--people-only", action="store_true", help="Only the demo people and study."
        )

    def handle(self, *args, people_only: bool = False, **options):
        people = load_people()
        if not people_only:
            for app in DEMO_APPS:
                if importlib.util.find_spec(f"{app}.demo") is None:
                    continue
                module = importlib.import_module(f"{app}.demo")
                self.stdout.write(f"Loading the {app} demo...")
                module.load(people=people, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo ready. Log in at http://127.0.0.1:8000/ as:"))
        for username, display, _staff in PEOPLE:
            self.stdout.write(f"  {username:<12} password {DEMO_PASSWORD}   ({display})")

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from surveys.management.commands._base import command_errors, get
from surveys.models import Panel, Population
from surveys.services import panel_import


class Command(BaseCommand):
    help = "Import panelists (external_id, strata, optional email/phone) from CSV; idempotent."

    def add_arguments(self, parser):
        parser.add_argument("csv", type=Path)
        parser.add_argument("--panel", type=int, help="an existing panel")
        parser.add_argument("--population", type=int, help="create a panel of this population")
        parser.add_argument("--name", default="Panel")

    def handle(self, *args, **options):
        if options["panel"]:
            panel = get(Panel, options["panel"], "panel")
        else:
            population = get(Population, options["population"], "population")
            panel = Panel.objects.create(
                study=population.study, population=population, name=options["name"]
            )
        with command_errors():
            report = panel_import(panel=panel, csv_text=options["csv"].read_bytes())
        self.stdout.write(
            f"Panel {panel.pk}: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged."
        )

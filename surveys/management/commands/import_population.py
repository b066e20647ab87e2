from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from accounts.models import Study
from surveys.management.commands._base import command_errors, get
from surveys.services import population_import


class Command(BaseCommand):
    help = "Import a population (one column per stratification variable and 'count') from CSV."

    def add_arguments(self, parser):
        parser.add_argument("csv", type=Path)
        parser.add_argument("--study", type=int, required=True)
        parser.add_argument("--name", required=True)

    def handle(self, *args, **options):
        study = get(Study, options["study"], "study")
        with command_errors():
            population = population_import(
                study=study, name=options["name"], csv_text=options["csv"].read_bytes()
            )
        self.stdout.write(
            f"Population {population.pk}: {population.cells.count()} cells, "
            f"{population.total:,} people."
        )

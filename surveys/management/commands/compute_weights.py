from __future__ import annotations

from django.core.management.base import BaseCommand

from surveys.management.commands._base import command_errors, get
from surveys.models import Survey
from surveys.services import weights_compute


class Command(BaseCommand):
    help = "Compute the final weight of every respondent of a survey."

    def add_arguments(self, parser):
        parser.add_argument("--survey", type=int, required=True)

    def handle(self, *args, **options):
        survey = get(Survey, options["survey"], "survey")
        with command_errors():
            result = weights_compute(survey=survey)
        self.stdout.write(
            f"{result['respondents']} weights ({result['method']}), sum {result['sum']:.1f}, "
            f"Kish design effect {result['kish_deff']:.3f}."
        )

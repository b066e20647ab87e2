from __future__ import annotations

from django.core.management.base import BaseCommand

from surveys.management.commands._base import command_errors, get
from surveys.models import Survey
from surveys.services import sample_draw, sample_replace


class Command(BaseCommand):
    help = "Draw a survey's sample from its design's panel (or replacements for non-response)."

    def add_arguments(self, parser):
        parser.add_argument("--survey", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--replacements", action="store_true")
        parser.add_argument("--cell", action="append", dest="cells", help="only these cells")

    def handle(self, *args, **options):
        survey = get(Survey, options["survey"], "survey")
        with command_errors():
            if options["replacements"]:
                draw = sample_replace(survey=survey, seed=options["seed"], cells=options["cells"])
            else:
                draw = sample_draw(survey=survey, seed=options["seed"])
        self.stdout.write(f"Draw {draw.pk} ({draw.kind}, seed {draw.seed}): {draw.size} invited.")

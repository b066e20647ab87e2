from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from surveys.management.commands._base import get
from surveys.models import Survey
from surveys.services import invitations_send_now


class Command(BaseCommand):
    help = "Email invitations (or reminders) to a survey's sample, in this process."

    def add_arguments(self, parser):
        parser.add_argument("--survey", type=int, required=True)
        parser.add_argument("--reminders", action="store_true")

    def handle(self, *args, **options):
        survey = get(Survey, options["survey"], "survey")
        try:
            result = invitations_send_now(survey=survey, reminder=options["reminders"])
        except ValidationError as exc:
            raise CommandError(json.dumps(exc.message_dict)) from None
        self.stdout.write(f"{result['sent']} sent, {result['skipped']} without an email address.")

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from accounts.models import User
from annotation.access import access_adjudication
from annotation.models import Item
from annotation.selectors import adjudication_queue
from annotation.services import adjudication_record


class Command(BaseCommand):
    help = (
        "Without --item: list the adjudication queue (JSON). With --item EXTERNAL_ID: record "
        "its final label, --label KEY (the primary label, or each label of a multi-label "
        "item) --secondary KEY ... --note TEXT."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument("--user", required=True, help="an adjudicator or researcher")
        parser.add_argument("--item", help="external id of the item")
        parser.add_argument("--label", action="append", default=[])
        parser.add_argument("--secondary", action="append", default=[])
        parser.add_argument("--note", default="")

    def handle(self, *args, project, user, item, label, secondary, note, **options):
        person = User.objects.filter(username=user).first()
        if person is None:
            raise CommandError("No such user.")
        try:
            chosen = access_adjudication(user=person, project_id=project)
        except (PermissionDenied, Http404):
            raise CommandError(f"{user} may not adjudicate in project {project}.") from None
        if not item:
            queue = adjudication_queue(project=chosen)
            self.stdout.write(
                json.dumps([{"item": e["item"].external_id, "labels": e["labels"]} for e in queue])
            )
            return
        target = Item.objects.filter(project=chosen, external_id=item).first()
        if target is None:
            raise CommandError(f"No item {item!r} in project {project}.")
        labels = [{"category": k, "role": "primary"} for k in label]
        labels += [{"category": k, "role": "secondary"} for k in secondary]
        try:
            decision = adjudication_record(item=target, user=person, labels=labels, note=note)
        except ValidationError as exc:
            raise CommandError(json.dumps(exc.message_dict)) from None
        self.stdout.write(json.dumps({"adjudication": decision.pk, "labels": decision.labels}))

"""Mark the accounts earlier ratings imports made as imported raters of their study.

Before ``User.imported_for`` existed, an import created inactive accounts without a usable
password for the raters its file named. An account that looks like that, never rated live and
whose imported ratings all sit in one study is marked as that study's imported rater, so that
importing the same file again still skips what is there (instead of being refused as naming
someone's account). Anything else stays unmarked: a later import naming it is refused.
"""

from django.db import migrations
from django.db.models import Count


def mark(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    ImportedRating = apps.get_model("annotation", "ImportedRating")
    Assignment = apps.get_model("annotation", "Assignment")
    candidates = (
        ImportedRating.objects.filter(
            rater__is_active=False,
            rater__imported_for__isnull=True,
            rater__password__startswith="!",
        )
        .exclude(rater__in=Assignment.objects.values("rater"))
        .values("rater")
        .annotate(studies=Count("item__project__study", distinct=True))
        .filter(studies=1)
        .values_list("rater", flat=True)
    )
    for rater_id in candidates.iterator():
        study_id = (
            ImportedRating.objects.filter(rater_id=rater_id)
            .values_list("item__project__study", flat=True)
            .first()
        )
        User.objects.filter(pk=rater_id).update(imported_for_id=study_id)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_study_creation_invitations_imported_raters"),
        ("annotation", "0005_project_invitation"),
    ]

    operations = [migrations.RunPython(mark, migrations.RunPython.noop)]

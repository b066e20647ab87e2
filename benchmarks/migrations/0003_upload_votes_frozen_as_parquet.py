"""Uploaded votes move from one row per vote to a Parquet file frozen at upload.

Existing uploads are written out first (their rows in id order, metadata as text columns),
then the table of rows is dropped.
"""

import io
import json

from django.core.files.base import ContentFile
from django.db import migrations, models


def freeze_uploaded_votes(apps, schema_editor):
    import pyarrow as pa
    import pyarrow.parquet as pq

    DatasetSource = apps.get_model("benchmarks", "DatasetSource")
    UploadedVote = apps.get_model("benchmarks", "UploadedVote")
    for source in DatasetSource.objects.filter(kind="upload").iterator():
        rows = list(
            UploadedVote.objects.filter(source_id=source.pk)
            .order_by("id")
            .values_list("item", "voter", "label", "weight", "role", "meta")
        )
        columns = {
            "item": pa.array([r[0] for r in rows], pa.string()),
            "voter": pa.array([r[1] for r in rows], pa.string()),
            "label": pa.array([r[2] for r in rows], pa.string()),
            "weight": pa.array([r[3] for r in rows], pa.float64()),
            "role": pa.array([r[4] for r in rows], pa.string()),
        }
        for name in source.columns or []:
            values = []
            for r in rows:
                meta = r[5] if isinstance(r[5], dict) else json.loads(r[5] or "{}")
                value = meta.get(name)
                values.append(None if value is None else str(value))
            columns[name] = pa.array(values, pa.string())
        buf = io.BytesIO()
        pq.write_table(pa.table(columns), buf, compression="snappy")
        source.votes_file.save(
            f"source-{source.pk}-votes.parquet", ContentFile(buf.getvalue()), save=True
        )


class Migration(migrations.Migration):
    dependencies = [
        ("benchmarks", "0002_version_contents_and_upload_items"),
    ]

    operations = [
        migrations.AddField(
            model_name="datasetsource",
            name="votes_file",
            field=models.FileField(blank=True, upload_to="benchmarks/uploads/%Y/%m/"),
        ),
        migrations.RunPython(freeze_uploaded_votes, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="uploadedvote", name="uploaded_vote_weight"),
        migrations.RemoveConstraint(model_name="uploadedvote", name="uploaded_vote_role"),
        migrations.DeleteModel(name="UploadedVote"),
    ]

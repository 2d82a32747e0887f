"""Warnings carry their household's village (see Warning): added, filled, then required."""

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):
    Warning = apps.get_model("screening", "Warning")
    Household = apps.get_model("registry", "Household")
    Warning.objects.filter(village__isnull=True).update(
        village_id=models.Subquery(Household.objects.filter(pk=models.OuterRef("household_id")).values("village_id"))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("regions", "0001_initial"),
        ("registry", "0004_member_name_chars"),
        ("screening", "0004_warning_converted"),
    ]

    operations = [
        migrations.AddField(
            model_name="warning",
            name="village",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="regions.region",
                verbose_name="所在村",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="warning",
            name="village",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="regions.region",
                verbose_name="所在村",
            ),
        ),
    ]

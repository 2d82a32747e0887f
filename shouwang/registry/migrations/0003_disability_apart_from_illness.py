"""Disability apart from illness: 健康状况 allows combinations (policy.md §11), so a disabled
person who is also chronically or seriously ill could not be recorded with one field.

Members recorded as 残疾 become disabled with no illness recorded (健康), which is what the
single value said; going back, a disabled member is 残疾 again and any illness is lost.
"""

from django.db import migrations, models


def split_disability(apps, schema_editor):
    Member = apps.get_model("registry", "Member")
    Member.objects.filter(health="残疾").update(disabled=True, health="健康")


def merge_disability(apps, schema_editor):
    Member = apps.get_model("registry", "Member")
    Member.objects.filter(disabled=True).update(health="残疾")


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0002_duplicate_candidates"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="member",
            name="disability_type_needs_health",
        ),
        migrations.AddField(
            model_name="member",
            name="disabled",
            field=models.BooleanField(default=False, verbose_name="残疾"),
        ),
        migrations.RunPython(split_disability, merge_disability),
        migrations.AlterField(
            model_name="member",
            name="health",
            field=models.CharField(
                choices=[("健康", "健康"), ("长期慢性病", "长期慢性病"), ("患有大病", "患有大病")],
                default="健康",
                max_length=8,
                verbose_name="健康状况",
            ),
        ),
        migrations.AddConstraint(
            model_name="member",
            constraint=models.CheckConstraint(
                condition=models.Q(("disabled", True), models.Q(("disability_type", ""), ("disability_grade", "")), _connector="OR"),
                name="disability_details_need_disabled",
            ),
        ),
    ]

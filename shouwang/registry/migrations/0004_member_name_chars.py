"""A GIN index of the characters of members' names, on PostgreSQL (see registry.search)."""

from django.db import migrations

INDEX = "registry_member_name_chars"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON registry_member USING gin (string_to_array((name)::text, NULL::text))"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_disability_apart_from_illness")]

    operations = [migrations.RunPython(create, drop, elidable=False)]

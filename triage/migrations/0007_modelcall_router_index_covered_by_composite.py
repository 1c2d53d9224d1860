"""Drop ModelCall.router's own index: ``modelcall_router_task_model`` starts with the same column and
serves every lookup by router, and each audit row paid for updating both.

Only the index is dropped. Django's AlterField would also drop and re-add the foreign key, and
re-adding it checks every row of what can be a large audit table under a lock, so the database side
is one DROP INDEX (the name Django gave it, the same on PostgreSQL and SQLite).
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "triage_modelcall_router_id_296b5bdf"


class Migration(migrations.Migration):
    dependencies = [
        ("triage", "0006_step_ordering_without_join"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="modelcall",
                    name="router",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="calls",
                        to="triage.router",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "triage_modelcall" ("router_id")',
                ),
            ],
        ),
    ]

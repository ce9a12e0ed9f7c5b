from django.db import migrations, models


def add_first_greeting(apps, schema_editor):
    apps.get_model("pages", "Greeting").objects.create(text="Hello from the database.")


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="Greeting",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("text", models.CharField(max_length=200)),
            ],
        ),
        migrations.RunPython(add_first_greeting, migrations.RunPython.noop),
    ]

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from demo_project.contacts.models import Contact, Tag

CONTACTS = [
    ("Ada Lovelace", "ada@example.com", 36),
    ("Alan Turing", "alan@example.com", 41),
    ("Grace Hopper", "grace@example.com", 85),
]
TAGS = [("friends", "Friends"), ("work", "Work")]


class Command(BaseCommand):
    help = "Adds the demo's sample contacts and tags, and the user demo/demo (idempotent)."

    def handle(self, *args, **options):
        for name, email, age in CONTACTS:
            Contact.objects.get_or_create(email=email, defaults={"name": name, "age": age})
        for slug, label in TAGS:
            Tag.objects.get_or_create(slug=slug, defaults={"label": label})
        User = get_user_model()
        if not User.objects.filter(username="demo").exists():
            User.objects.create_user("demo", password="demo")
        self.stdout.write(
            f"{Contact.objects.count()} contacts, {Tag.objects.count()} tags; "
            "log in as demo / demo at /api-auth/login/."
        )

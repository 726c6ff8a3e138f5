from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from demo_project.contacts.models import Company, Contact, Tag

# The third company has no contacts: the README deletes it.
COMPANIES = ["Analytical Engines", "Bletchley Park", "Harvard Computers"]
CONTACTS = [
    ("Ada Lovelace", "ada@example.com", 36, "Analytical Engines", ["work"]),
    ("Alan Turing", "alan@example.com", 41, "Bletchley Park", []),
    ("Grace Hopper", "grace@example.com", 85, None, []),
]
TAGS = [("friends", "Friends"), ("work", "Work")]


class Command(BaseCommand):
    help = (
        "Adds the demo's sample companies, contacts and tags, and the user demo/demo (idempotent). "
        "With --reset, first empties the whole database, so ids start again from 1."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete every row of every table first (manage.py flush), jobs and users too.",
        )

    def handle(self, *args, **options):
        if options["reset"]:
            call_command("flush", interactive=False, verbosity=0)
        companies = {name: Company.objects.get_or_create(name=name)[0] for name in COMPANIES}
        tags = {
            slug: Tag.objects.get_or_create(slug=slug, defaults={"label": label})[0]
            for slug, label in TAGS
        }
        for name, email, age, company, slugs in CONTACTS:
            contact, created = Contact.objects.get_or_create(
                email=email,
                defaults={"name": name, "age": age, "company": companies.get(company)},
            )
            if created:
                contact.tags.set(tags[slug] for slug in slugs)
        User = get_user_model()
        if not User.objects.filter(username="demo").exists():
            User.objects.create_user("demo", password="demo")
        self.stdout.write(
            f"{Company.objects.count()} companies, {Contact.objects.count()} contacts, "
            f"{Tag.objects.count()} tags; "
            "log in as demo / demo at /api-auth/login/."
        )

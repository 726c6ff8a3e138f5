import json

from django.core.management.base import BaseCommand, CommandError, CommandParser


def contact(number: int) -> dict:
    """Zero-padded emails sort in the array's order, the order new rows are inserted in, so the
    ids follow the array."""
    return {
        "name": f"Contact {number}",
        "email": f"contact{number:06d}@example.com",
        "age": 18 + number % 70,
    }


class Command(BaseCommand):
    help = (
        "Prints a JSON array of N new contacts, the same every time, for a bulk request: "
        "manage.py demo_payload 20000 > contacts.json"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("count", type=int, metavar="N", help="how many contacts")

    def handle(self, *args, count: int, **options) -> None:
        if count < 0:
            raise CommandError("N must be 0 or more.")
        items = ",\n".join(json.dumps(contact(n)) for n in range(1, count + 1))
        self.stdout.write(f"[\n{items}\n]" if items else "[]")

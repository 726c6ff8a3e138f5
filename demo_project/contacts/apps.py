from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "demo_project.contacts"
    label = "contacts"

    def ready(self) -> None:
        from . import faults

        faults.install()

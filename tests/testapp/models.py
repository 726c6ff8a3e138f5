from django.conf import settings
from django.db import models


class Note(models.Model):
    """Owned by a user; others see it only when it is public, and never change it."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    title = models.CharField(max_length=50)
    public = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title


class Gadget(models.Model):
    """Has rules only the database enforces, so an item can fail with a real IntegrityError."""

    name = models.CharField(max_length=50)
    code = models.CharField(max_length=20, unique=True)
    quantity = models.IntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__lte=10), name="gadget_quantity_at_most_10"
            )
        ]

    def __str__(self) -> str:
        return self.code

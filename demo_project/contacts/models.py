from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Company(models.Model):
    """Contacts refer to a company, which keeps it from being deleted while they do."""

    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    name = models.CharField(max_length=100)
    email = models.EmailField(unique=True)
    age = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(150)]
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.PROTECT, related_name="contacts"
    )
    tags: models.ManyToManyField[Tag, Any] = models.ManyToManyField(
        "Tag", blank=True, related_name="contacts"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Tag(models.Model):
    """Addressed by slug rather than id, and saved all-or-nothing: see ``TagViewSet``."""

    slug = models.SlugField(unique=True)
    label = models.CharField(max_length=50)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

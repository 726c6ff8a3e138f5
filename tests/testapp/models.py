import uuid

from django.conf import settings
from django.db import models
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver

from .history import BatchHistory


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


class Event(models.Model):
    """Columns of many types, saved through the bulk-write path (no hooks, no receivers)."""

    title = models.CharField(max_length=50)
    starts = models.DateTimeField()
    day = models.DateField(null=True, blank=True)
    all_day = models.BooleanField(default=False)
    score = models.FloatField(null=True, blank=True)
    uid = models.UUIDField(default=uuid.uuid4)
    details = models.JSONField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title


class GadgetLog(models.Model):
    """A related row written by the save hooks, to prove failed items leave no stray rows."""

    gadget = models.ForeignKey(Gadget, on_delete=models.CASCADE, related_name="logs")
    action = models.CharField(max_length=10)

    def __str__(self) -> str:
        return f"{self.action} {self.gadget_id}"


@receiver(post_save, sender=Gadget)
def fail_on_request(sender: type[Gadget], instance: Gadget, **kwargs: object) -> None:
    """A signal receiver that fails, as a faulty project receiver would."""
    if instance.name == "signal-boom":
        raise RuntimeError("receiver failed")


class GadgetLock(models.Model):
    """Keeps its gadget from being deleted (``on_delete=PROTECT``)."""

    gadget = models.ForeignKey(Gadget, on_delete=models.PROTECT, related_name="locks")

    def __str__(self) -> str:
        return f"lock {self.gadget_id}"


@receiver(pre_delete, sender=Gadget)
def fail_delete_on_request(sender: type[Gadget], instance: Gadget, **kwargs: object) -> None:
    """A delete receiver that fails, as a faulty project receiver would."""
    if instance.name == "delete-boom":
        raise RuntimeError("delete receiver failed")


class Doc(models.Model):
    """Owned by a user and named by a unique key (null for none): what the policy matrix
    writes, by id and by key."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=20, unique=True, null=True, blank=True)
    title = models.CharField(max_length=50)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.key or self.title


class Section(models.Model):
    """Named by id, and by a hyperlink to its detail URL."""

    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """Named by slug."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["slug"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.slug


class Label(models.Model):
    """Many to an article, named by id; ``name`` is not unique, so a slug can name several."""

    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Folder(models.Model):
    """Owned by a user: an article's folder must be one of the requesting user's."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    """A row with four relations, as real projects have them: a foreign key by id, one by slug,
    a many-to-many by id, and one restricted to the requesting user's objects."""

    code = models.CharField(max_length=20, unique=True)
    title = models.CharField(max_length=100)
    section = models.ForeignKey(Section, null=True, blank=True, on_delete=models.PROTECT)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT)
    labels = models.ManyToManyField(Label, blank=True, related_name="articles")
    folder = models.ForeignKey(Folder, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.code


class FlatArticle(models.Model):
    """The same row with plain values where an ``Article`` has relations: what its relations
    cost is the difference."""

    code = models.CharField(max_length=20, unique=True)
    title = models.CharField(max_length=100)
    section = models.IntegerField(null=True, blank=True)
    category = models.CharField(max_length=50, null=True, blank=True)  # noqa: DJ001  (as the relation)
    labels = models.JSONField(default=list, blank=True)
    folder = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.code


class Shelf(models.Model):
    """Holds labels through a model of its own, whose rows ``set()`` writes (through defaults
    included) and a set-based write could not."""

    code = models.CharField(max_length=20, unique=True)
    labels = models.ManyToManyField(Label, through="ShelfLabel", blank=True, related_name="shelves")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.code


class ShelfLabel(models.Model):
    shelf = models.ForeignKey(Shelf, on_delete=models.CASCADE)
    label = models.ForeignKey(Label, on_delete=models.CASCADE)
    placed = models.CharField(max_length=20, default="front")

    def __str__(self) -> str:
        return f"{self.shelf_id}: {self.label_id}"


class Memo(models.Model):
    """Its every change recorded by django-simple-history (the README's recipe)."""

    title = models.CharField(max_length=50)
    done = models.BooleanField(default=False)
    history = BatchHistory()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title

from collections.abc import Mapping

from rest_framework import serializers

from .models import (
    Article,
    Category,
    Doc,
    Event,
    FlatArticle,
    Folder,
    Gadget,
    Label,
    Memo,
    Note,
    Section,
    Shelf,
)


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ["id", "title", "public"]


class GadgetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Gadget
        fields = ["id", "name", "code", "quantity"]
        # Leave uniqueness to the database, as when a concurrent writer wins the race.
        extra_kwargs = {"code": {"validators": []}}


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "title", "starts", "day", "all_day", "score", "uid", "details", "owner"]
        fields += ["updated"]


class DocSerializer(serializers.ModelSerializer):
    """A PUT makes the requesting user the owner, so a replacement the policy should have
    refused takes the row over visibly."""

    owner = serializers.HiddenField(default=serializers.CurrentUserDefault())
    owner_id = serializers.ReadOnlyField()

    class Meta:
        model = Doc
        fields = ["id", "key", "title", "owner", "owner_id"]


class SectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Section
        fields = ["id", "name"]


class OwnFolderField(serializers.PrimaryKeyRelatedField):
    """A folder of the requesting user's only: any other looks unknown."""

    def get_queryset(self):
        return Folder.objects.filter(owner=self.context["request"].user)


class ArticleSerializer(serializers.ModelSerializer):
    """Four relations: a foreign key by id, one by slug, a many-to-many by id, and one the
    requesting user's objects restrict."""

    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), allow_null=True, required=False
    )
    folder = OwnFolderField(allow_null=True, required=False)

    class Meta:
        model = Article
        fields = ["id", "code", "title", "section", "category", "labels", "folder"]


class HyperlinkedArticleSerializer(ArticleSerializer):
    """Names its section by the section's URL."""

    section = serializers.HyperlinkedRelatedField(
        view_name="section-detail", queryset=Section.objects.all(), allow_null=True, required=False
    )


class ArticleReadingSerializer(ArticleSerializer):
    """Reads its relations back in every way a representation does: a slug of a label by name
    (which may name several), the section's string and nested, the labels' strings."""

    label_names = serializers.SlugRelatedField(
        source="labels", slug_field="name", many=True, read_only=True
    )
    section_name = serializers.StringRelatedField(source="section")
    section_detail = SectionSerializer(source="section", read_only=True)
    folder_owner = serializers.ReadOnlyField(source="folder.owner_id")

    class Meta(ArticleSerializer.Meta):
        fields = [*ArticleSerializer.Meta.fields, "label_names", "section_name", "section_detail"]
        fields += ["folder_owner"]


class FlatArticleSerializer(serializers.ModelSerializer):
    labels = serializers.ListField(child=serializers.IntegerField(), required=False)

    class Meta:
        model = FlatArticle
        fields = ["id", "code", "title", "section", "category", "labels", "folder"]


class StrictArticleSerializer(ArticleSerializer):
    """A section and a category every article must name: null is refused."""

    section = serializers.PrimaryKeyRelatedField(queryset=Section.objects.all())
    category = serializers.SlugRelatedField(slug_field="slug", queryset=Category.objects.all())


class LabelNameArticleSerializer(ArticleSerializer):
    """Names its labels by name, which is not unique: a name may match several labels."""

    labels = serializers.SlugRelatedField(
        slug_field="name", many=True, queryset=Label.objects.all(), required=False
    )


class TitleSectionField(serializers.PrimaryKeyRelatedField):
    """A section whose name starts with the item's title's first letter: its queryset reads the
    item (and, as a project's field might, fails on an item without a title)."""

    def get_queryset(self):
        return Section.objects.filter(name__startswith=self.parent.initial_data["title"][:1])


class TitleSectionArticleSerializer(ArticleSerializer):
    section = TitleSectionField(allow_null=True, required=False)


class GuardedTitleSectionField(serializers.PrimaryKeyRelatedField):
    """The same rule written defensively: an item that is not a mapping, or has no title, may
    name any section."""

    def get_queryset(self):
        data = self.parent.initial_data
        if isinstance(data, Mapping) and isinstance(data.get("title"), str):
            return Section.objects.filter(name__startswith=data["title"][:1])
        return Section.objects.all()


class GuardedTitleSectionArticleSerializer(ArticleSerializer):
    section = GuardedTitleSectionField(allow_null=True, required=False)


class StaffFolderField(serializers.PrimaryKeyRelatedField):
    """Any folder for staff, none for anyone else: an empty queryset, as projects write it."""

    def get_queryset(self):
        if self.context["request"].user.is_staff:
            return Folder.objects.all()
        return Folder.objects.none()


class StaffFolderArticleSerializer(ArticleSerializer):
    folder = StaffFolderField(allow_null=True, required=False)


class ShelfSerializer(serializers.ModelSerializer):
    labels = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Label.objects.all(), required=False
    )

    class Meta:
        model = Shelf
        fields = ["id", "code", "labels"]


class MemoSerializer(serializers.ModelSerializer):
    class Meta:
        model = Memo
        fields = ["id", "title", "done"]

from rest_framework import serializers

from .models import (
    Article,
    Category,
    Doc,
    Event,
    FlatArticle,
    Folder,
    Gadget,
    Note,
    Section,
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
        fields = ["id", "title", "starts", "day", "all_day", "score", "uid", "owner", "updated"]


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
    class Meta:
        model = FlatArticle
        fields = ["id", "code", "title"]

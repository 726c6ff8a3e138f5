"""The ways of writing (and deleting) many rows that the benchmark compares."""

from django.urls import include, path
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from demo_project.contacts.models import Contact
from demo_project.contacts.serializers import ContactSerializer
from demo_project.contacts.views import ContactViewSet
from drf_multistatus import BulkDefaultRouter, BulkModelViewSet
from tests.testapp.models import Article, FlatArticle, Gadget
from tests.testapp.serializers import ArticleSerializer, FlatArticleSerializer, GadgetSerializer


class PlainContactViewSet(viewsets.ModelViewSet):
    """DRF as it comes: one object per request."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer


class ListSerializerContactViewSet(viewsets.ModelViewSet):
    """One POST of an array through ``serializer(many=True)``: all-or-nothing, no item statuses."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data, many=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data, status=status.HTTP_201_CREATED)


class PerItemContactViewSet(ContactViewSet):
    """drf-multistatus with the bulk write turned off: own serializer and savepoint per item."""

    bulk_write = False


class ConstantEtagContactViewSet(ContactViewSet):
    """drf-multistatus with an etag that costs nothing: what the default etags cost is the
    difference."""

    def get_bulk_etag(self, instance):
        return "0"


class PlainGadgetViewSet(viewsets.ModelViewSet):
    queryset = Gadget.objects.all()
    serializer_class = GadgetSerializer


class GadgetViewSet(BulkModelViewSet):
    """Gadgets have log rows that a delete cascades to."""

    queryset = Gadget.objects.all()
    serializer_class = GadgetSerializer


class PerItemGadgetViewSet(GadgetViewSet):
    bulk_write = False


class ArticleListSerializer(serializers.ListSerializer):
    """DRF's documented multiple update: each item validated and saved by the child serializer
    against its own object, found by id among the objects the view loaded."""

    def to_internal_value(self, data):
        self.by_id = {obj.pk: obj for obj in self.instance}
        return super().to_internal_value(data)

    def run_child_validation(self, data):
        self.child.instance = self.by_id[data["id"]]
        self.child.initial_data = data
        return super().run_child_validation(data)

    def update(self, instance, validated_data):
        pairs = zip(self.initial_data, validated_data, strict=True)
        return [self.child.update(self.by_id[item["id"]], attrs) for item, attrs in pairs]


class ListArticleSerializer(ArticleSerializer):
    class Meta(ArticleSerializer.Meta):
        list_serializer_class = ArticleListSerializer


class PlainArticleViewSet(viewsets.ModelViewSet):
    """DRF as it comes, with four relations: one object per request."""

    queryset = Article.objects.all()
    serializer_class = ArticleSerializer


class ListSerializerArticleViewSet(viewsets.GenericViewSet):
    """A POST or PATCH of an array through ``serializer(many=True)``: all-or-nothing, no item
    statuses; DRF's own ``ListSerializer`` creates, the documented ``update()`` updates."""

    queryset = Article.objects.all()

    def get_serializer_class(self):
        return ListArticleSerializer if self.action == "partial_update_many" else ArticleSerializer

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data, many=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    def partial_update_many(self, request, *args, **kwargs):
        objs = self.get_queryset().filter(pk__in=[item["id"] for item in request.data])
        serializer = self.get_serializer(list(objs), data=request.data, many=True, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)


class ArticleViewSet(BulkModelViewSet):
    """Articles with four relations: by id, by slug, many-to-many, scoped to the user."""

    queryset = Article.objects.all()
    serializer_class = ArticleSerializer


class FlatArticleViewSet(BulkModelViewSet):
    """The same rows without relations."""

    queryset = FlatArticle.objects.all()
    serializer_class = FlatArticleSerializer


plain = DefaultRouter()
plain.register("plain", PlainContactViewSet, basename="plain")
plain.register("listserializer", ListSerializerContactViewSet, basename="listserializer")
bulk = BulkDefaultRouter()
bulk.register("contacts", ContactViewSet, basename="contact")
bulk.register("per-item", PerItemContactViewSet, basename="per-item")
bulk.register("constant-etag", ConstantEtagContactViewSet, basename="constant-etag")
plain.register("plain-gadgets", PlainGadgetViewSet, basename="plain-gadget")
bulk.register("gadgets", GadgetViewSet, basename="gadget")
bulk.register("per-item-gadgets", PerItemGadgetViewSet, basename="per-item-gadget")
plain.register("plain-articles", PlainArticleViewSet, basename="plain-article")
bulk.register("articles", ArticleViewSet, basename="article")
bulk.register("flat-articles", FlatArticleViewSet, basename="flat-article")
many_articles = ListSerializerArticleViewSet.as_view(
    {"post": "create", "patch": "partial_update_many"}
)

urlpatterns = [
    path("", include(plain.urls)),
    path("", include(bulk.urls)),
    path("listserializer-articles/", many_articles, name="listserializer-article-list"),
]

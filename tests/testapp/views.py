from django.db.models import Q
from rest_framework import authentication, permissions

from demo_project.contacts.models import Contact
from demo_project.contacts.serializers import ContactSerializer
from drf_multistatus import BulkModelViewSet

from .history import HistoryMixin
from .models import (
    Article,
    Doc,
    Event,
    FlatArticle,
    Gadget,
    GadgetLog,
    Memo,
    Note,
    Section,
    Shelf,
)
from .serializers import (
    ArticleReadingSerializer,
    ArticleSerializer,
    DocSerializer,
    EventSerializer,
    FlatArticleSerializer,
    GadgetSerializer,
    GuardedTitleSectionArticleSerializer,
    HyperlinkedArticleSerializer,
    LabelNameArticleSerializer,
    MemoSerializer,
    NoteSerializer,
    SectionSerializer,
    ShelfSerializer,
    StaffFolderArticleSerializer,
    StrictArticleSerializer,
    TitleSectionArticleSerializer,
)


class IsOwnerOrReadOnly(permissions.BasePermission):
    def has_object_permission(self, request, view, obj):
        return request.method in permissions.SAFE_METHODS or obj.owner_id == request.user.id


class NoteViewSet(BulkModelViewSet):
    serializer_class = NoteSerializer
    permission_classes = [permissions.DjangoModelPermissions, IsOwnerOrReadOnly]

    def get_queryset(self):
        return Note.objects.filter(Q(owner=self.request.user) | Q(public=True))

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)


class GadgetViewSet(BulkModelViewSet):
    queryset = Gadget.objects.all()
    serializer_class = GadgetSerializer

    def perform_create(self, serializer):
        self.save_with_log(serializer, "create")

    def perform_update(self, serializer):
        self.save_with_log(serializer, "update")

    @staticmethod
    def save_with_log(serializer, action):
        """Save, write a related row, and fail where the item asks for a fault."""
        name = serializer.validated_data.get("name")
        if name == "boom":
            raise RuntimeError("secret internal detail")
        gadget = serializer.save()
        GadgetLog.objects.create(gadget=gadget, action=action)
        if name == "late-boom":
            raise RuntimeError("failed after writing")


class EventViewSet(BulkModelViewSet):
    queryset = Event.objects.all()
    serializer_class = EventSerializer


class NoSingleObjectWrites(permissions.BasePermission):
    """A policy written for DRF's single-object actions only."""

    def has_permission(self, request, view):
        return view.action not in ("update", "partial_update", "destroy")


class NoBulkPatch(permissions.BasePermission):
    """A policy that names a bulk action itself."""

    def has_permission(self, request, view):
        return view.action != "partial_bulk_update"


class PolicyNoteViewSet(BulkModelViewSet):
    """Public notes under action-based policies: ``policy`` picks one per request."""

    serializer_class = NoteSerializer
    queryset = Note.objects.all()
    authentication_classes = [authentication.SessionAuthentication]
    permission_classes = [IsOwnerOrReadOnly]

    def get_permissions(self):
        policy = self.request.query_params.get("policy")
        extra = {"single": [NoSingleObjectWrites()], "bulk": [NoBulkPatch()]}.get(policy, [])
        if policy == "admin-writes" and self.action in ("update", "partial_update", "destroy"):
            extra = [permissions.IsAdminUser()]
        return [*super().get_permissions(), *extra]


class AdultContactViewSet(BulkModelViewSet):
    """Contacts scoped to adults, upserting by email: minors are outside the queryset."""

    queryset = Contact.objects.filter(age__gte=18)
    serializer_class = ContactSerializer
    permission_classes = [permissions.DjangoModelPermissions]
    upsert_fields = ("email",)


class HookedContactViewSet(BulkModelViewSet):
    """Upserts and deletes by email through the project's own hooks: the per-item path."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    lookup_field = "email"
    lookup_value_regex = "[^/]+"
    upsert_fields = ("email",)

    def perform_create(self, serializer):
        serializer.save(name=serializer.validated_data["name"].strip())

    def perform_update(self, serializer):
        serializer.save(name=serializer.validated_data.get("name", "").strip() or "?")

    def perform_destroy(self, instance):
        if instance.name == "keep":
            raise permissions.exceptions.PermissionDenied("This contact is kept.")
        instance.delete()


#: The single-object actions that write an existing object.
OBJECT_WRITES = ("update", "partial_update", "destroy")


class DocViewSet(BulkModelViewSet):
    """Docs, upserted by key, without a policy of their own; each subclass adds one."""

    queryset = Doc.objects.all()
    serializer_class = DocSerializer
    authentication_classes = [authentication.SessionAuthentication]
    permission_classes = [permissions.AllowAny]
    upsert_fields = ("key",)


class OwnerWritesByAction(permissions.BasePermission):
    def has_object_permission(self, request, view, obj):
        return view.action not in OBJECT_WRITES or obj.owner_id == request.user.id


class OwnerWritesByMethod(permissions.BasePermission):
    def has_object_permission(self, request, view, obj):
        return request.method not in ("PUT", "PATCH", "DELETE") or obj.owner_id == request.user.id


class StaffWrites(permissions.BasePermission):
    def has_permission(self, request, view):
        return view.action not in OBJECT_WRITES or request.user.is_staff


class ActionOwnerDocViewSet(DocViewSet):
    """Only the owner updates or deletes a doc, by ``view.action``."""

    permission_classes = [OwnerWritesByAction]


class MethodOwnerDocViewSet(DocViewSet):
    """Only the owner updates or deletes a doc, by ``request.method``."""

    permission_classes = [OwnerWritesByMethod]


class WriteScopedDocViewSet(DocViewSet):
    """Every doc can be read, and a doc with a new key created; only one's own docs updated or
    deleted: the others are outside the queryset of those actions."""

    def get_queryset(self):
        if self.action in OBJECT_WRITES:
            return Doc.objects.filter(owner_id=self.request.user.id)
        return Doc.objects.all()


class StaffWritesDocViewSet(DocViewSet):
    """Anyone creates; only staff update or delete, any doc."""

    permission_classes = [StaffWrites]


class AuthenticatedDocViewSet(DocViewSet):
    """Anyone reads; any authenticated user writes, any doc."""

    permission_classes = [permissions.IsAuthenticatedOrReadOnly]


class ArticleViewSet(BulkModelViewSet):
    """Articles with four relations, upserted by code; ``?serializer=`` picks how they are
    named and read (``hyperlinked``, ``reading``)."""

    queryset = Article.objects.all()
    upsert_fields = ("code",)
    serializers_by_name = {
        "hyperlinked": HyperlinkedArticleSerializer,
        "reading": ArticleReadingSerializer,
    }

    def get_serializer_class(self):
        name = self.request.query_params.get("serializer", "")
        return self.serializers_by_name.get(name, ArticleSerializer)


class SectionViewSet(BulkModelViewSet):
    queryset = Section.objects.all()
    serializer_class = SectionSerializer


class FlatArticleViewSet(BulkModelViewSet):
    queryset = FlatArticle.objects.all()
    serializer_class = FlatArticleSerializer


class ArticleVariantViewSet(ArticleViewSet):
    """Articles named in more ways: ``strict`` (section and category required), ``label-names``
    (labels by their non-unique name), ``by-title`` and ``by-title-guarded`` (a section field
    whose queryset reads the item), ``staff-folders`` (a folder field whose queryset is empty
    for all but staff)."""

    serializers_by_name = {
        **ArticleViewSet.serializers_by_name,
        "strict": StrictArticleSerializer,
        "label-names": LabelNameArticleSerializer,
        "by-title": TitleSectionArticleSerializer,
        "by-title-guarded": GuardedTitleSectionArticleSerializer,
        "staff-folders": StaffFolderArticleSerializer,
    }


class ShelfViewSet(BulkModelViewSet):
    queryset = Shelf.objects.all()
    serializer_class = ShelfSerializer


class MemoViewSet(HistoryMixin, BulkModelViewSet):
    queryset = Memo.objects.all()
    serializer_class = MemoSerializer
    permission_classes = [permissions.IsAuthenticated]

from django.urls import include, path

from drf_multistatus import BulkDefaultRouter

from .testapp.views import (
    ActionOwnerDocViewSet,
    AdultContactViewSet,
    ArticleVariantViewSet,
    ArticleViewSet,
    AuthenticatedDocViewSet,
    EventViewSet,
    FlatArticleViewSet,
    GadgetViewSet,
    HookedContactViewSet,
    MemoViewSet,
    MethodOwnerDocViewSet,
    NoteViewSet,
    PolicyNoteViewSet,
    SectionViewSet,
    ShelfViewSet,
    StaffWritesDocViewSet,
    WriteScopedDocViewSet,
)

router = BulkDefaultRouter()
router.register("notes", NoteViewSet, basename="note")
router.register("gadgets", GadgetViewSet)
router.register("events", EventViewSet)
router.register("policy-notes", PolicyNoteViewSet, basename="policy-note")
router.register("adult-contacts", AdultContactViewSet, basename="adult-contact")
router.register("hooked-contacts", HookedContactViewSet, basename="hooked-contact")
router.register("docs-by-action", ActionOwnerDocViewSet, basename="doc-by-action")
router.register("docs-by-method", MethodOwnerDocViewSet, basename="doc-by-method")
router.register("docs-write-scoped", WriteScopedDocViewSet, basename="doc-write-scoped")
router.register("docs-staff-writes", StaffWritesDocViewSet, basename="doc-staff-writes")
router.register("docs-authenticated", AuthenticatedDocViewSet, basename="doc-authenticated")
router.register("articles", ArticleViewSet, basename="article")
router.register("flat-articles", FlatArticleViewSet, basename="flat-article")
router.register("sections", SectionViewSet, basename="section")
router.register("article-variants", ArticleVariantViewSet, basename="article-variant")
router.register("shelves", ShelfViewSet, basename="shelf")
router.register("memos", MemoViewSet, basename="memo")

urlpatterns = [
    path("", include("demo_project.urls")),
    path("test/", include(router.urls)),
]

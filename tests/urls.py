from django.urls import include, path

from drf_multistatus import BulkDefaultRouter

from .testapp.views import (
    AdultContactViewSet,
    EventViewSet,
    GadgetViewSet,
    HookedContactViewSet,
    NoteViewSet,
    PolicyNoteViewSet,
)

router = BulkDefaultRouter()
router.register("notes", NoteViewSet, basename="note")
router.register("gadgets", GadgetViewSet)
router.register("events", EventViewSet)
router.register("policy-notes", PolicyNoteViewSet, basename="policy-note")
router.register("adult-contacts", AdultContactViewSet, basename="adult-contact")
router.register("hooked-contacts", HookedContactViewSet, basename="hooked-contact")

urlpatterns = [
    path("", include("demo_project.urls")),
    path("test/", include(router.urls)),
]

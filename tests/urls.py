from django.urls import include, path

from drf_multistatus import BulkDefaultRouter

from .testapp.views import EventViewSet, GadgetViewSet, NoteViewSet

router = BulkDefaultRouter()
router.register("notes", NoteViewSet, basename="note")
router.register("gadgets", GadgetViewSet)
router.register("events", EventViewSet)

urlpatterns = [
    path("", include("demo_project.urls")),
    path("test/", include(router.urls)),
]

from django.urls import include, path

from drf_multistatus import BulkDefaultRouter

from .testapp.views import GadgetViewSet, NoteViewSet

router = BulkDefaultRouter()
router.register("notes", NoteViewSet, basename="note")
router.register("gadgets", GadgetViewSet)

urlpatterns = [
    path("", include("demo_project.urls")),
    path("test/", include(router.urls)),
]

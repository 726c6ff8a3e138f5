"""A URLconf whose only bulk view names an upsert key that is not unique."""

from django.urls import include, path

from demo_project.contacts.views import ContactViewSet
from drf_multistatus import BulkRouter


class NameUpsertViewSet(ContactViewSet):
    upsert_fields = ("name",)


router = BulkRouter()
router.register("contacts", NameUpsertViewSet)
urlpatterns = [path("", include(router.urls))]

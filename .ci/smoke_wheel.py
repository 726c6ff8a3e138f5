"""Smoke test of an installed wheel, run outside the source tree: a bulk viewset over Django's
own Group model answers 207 in JSON, XML and the browsable API."""

import django
from django.conf import settings

settings.configure(
    DEBUG=True,
    SECRET_KEY="smoke",
    ALLOWED_HOSTS=["testserver"],
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "rest_framework",
        "drf_multistatus",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    ROOT_URLCONF=__name__,
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
    REST_FRAMEWORK={"DEFAULT_PERMISSION_CLASSES": [], "DEFAULT_AUTHENTICATION_CLASSES": []},
)
django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.urls import include, path  # noqa: E402
from rest_framework import serializers  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

import drf_multistatus  # noqa: E402
from drf_multistatus import BulkDefaultRouter, BulkModelViewSet  # noqa: E402
from drf_multistatus.client import from_response  # noqa: E402


class GroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = Group
        fields = ["id", "name"]


class GroupViewSet(BulkModelViewSet):
    queryset = Group.objects.all()
    serializer_class = GroupSerializer


router = BulkDefaultRouter()
router.register("groups", GroupViewSet)
urlpatterns = [path("", include(router.urls))]

call_command("migrate", verbosity=0)
client = APIClient()
batch = [{"name": "a"}, {"name": "a"}, {"name": ""}]
for accept in ("application/json", "application/xml"):
    Group.objects.all().delete()
    body = from_response(client.post("/groups/", batch, format="json", HTTP_ACCEPT=accept))
    assert body.status == 207, body
    assert [r.status for r in body] == [201, 409, 422], [r.status for r in body]
page = client.post("/groups/", [{"name": "b"}], format="json", HTTP_ACCEPT="text/html")
assert b"multistatus-results" in page.content, "templates missing from the wheel"
print(f"drf-multistatus {drf_multistatus.__version__} wheel: OK")

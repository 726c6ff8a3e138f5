from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from demo_project.contacts.views import CompanyViewSet, ContactViewSet, TagViewSet
from drf_multistatus import BulkDefaultRouter

router = BulkDefaultRouter()
router.register("companies", CompanyViewSet)
router.register("contacts", ContactViewSet)
router.register("tags", TagViewSet)

urlpatterns = [
    path("", RedirectView.as_view(url="/api/", permanent=False)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/", include(router.urls)),
    path("api-auth/", include("rest_framework.urls")),
]

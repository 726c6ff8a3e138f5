"""The ways of writing (and deleting) many rows that the benchmark compares."""

from django.urls import include, path
from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from demo_project.contacts.models import Contact
from demo_project.contacts.serializers import ContactSerializer
from demo_project.contacts.views import ContactViewSet
from drf_multistatus import BulkDefaultRouter, BulkModelViewSet
from tests.testapp.models import Gadget
from tests.testapp.serializers import GadgetSerializer


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


class PlainGadgetViewSet(viewsets.ModelViewSet):
    queryset = Gadget.objects.all()
    serializer_class = GadgetSerializer


class GadgetViewSet(BulkModelViewSet):
    """Gadgets have log rows that a delete cascades to."""

    queryset = Gadget.objects.all()
    serializer_class = GadgetSerializer


class PerItemGadgetViewSet(GadgetViewSet):
    bulk_write = False


plain = DefaultRouter()
plain.register("plain", PlainContactViewSet, basename="plain")
plain.register("listserializer", ListSerializerContactViewSet, basename="listserializer")
bulk = BulkDefaultRouter()
bulk.register("contacts", ContactViewSet, basename="contact")
bulk.register("per-item", PerItemContactViewSet, basename="per-item")
plain.register("plain-gadgets", PlainGadgetViewSet, basename="plain-gadget")
bulk.register("gadgets", GadgetViewSet, basename="gadget")
bulk.register("per-item-gadgets", PerItemGadgetViewSet, basename="per-item-gadget")

urlpatterns = [path("", include(plain.urls)), path("", include(bulk.urls))]

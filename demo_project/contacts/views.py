from drf_multistatus import BulkModelViewSet

from .models import Company, Contact, Tag
from .serializers import CompanySerializer, ContactSerializer, TagSerializer


class CompanyViewSet(BulkModelViewSet):
    """Companies. A company that contacts refer to cannot be deleted."""

    queryset = Company.objects.all()
    serializer_class = CompanySerializer


class ContactViewSet(BulkModelViewSet):
    """Contacts. POST, PUT, PATCH or DELETE a JSON array here to work on many at once; POST with
    `Prefer: resolution=merge-duplicates` upserts by email."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    upsert_fields = ("email",)


class TagViewSet(BulkModelViewSet):
    """Tags, addressed by slug. Bulk writes here are all-or-nothing."""

    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    lookup_field = "slug"
    atomic_batch = True
    allow_atomic_param = False
    xml_style = "propstat"  # XML items as PROPFIND/PROPPATCH answer them

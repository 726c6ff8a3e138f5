from drf_multistatus import BulkModelViewSet

from .models import Contact, Tag
from .serializers import ContactSerializer, TagSerializer


class ContactViewSet(BulkModelViewSet):
    """Contacts. POST, PUT or PATCH a JSON array here to work on many at once."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer


class TagViewSet(BulkModelViewSet):
    """Tags, addressed by slug. Bulk writes here are all-or-nothing."""

    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    lookup_field = "slug"
    atomic_batch = True
    allow_atomic_param = False

from django.db.models import Q
from rest_framework import permissions

from drf_multistatus import BulkModelViewSet

from .models import Event, Gadget, GadgetLog, Note
from .serializers import EventSerializer, GadgetSerializer, NoteSerializer


class IsOwnerOrReadOnly(permissions.BasePermission):
    def has_object_permission(self, request, view, obj):
        return request.method in permissions.SAFE_METHODS or obj.owner_id == request.user.id


class NoteViewSet(BulkModelViewSet):
    serializer_class = NoteSerializer
    permission_classes = [permissions.DjangoModelPermissions, IsOwnerOrReadOnly]

    def get_queryset(self):
        return Note.objects.filter(Q(owner=self.request.user) | Q(public=True))

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)


class GadgetViewSet(BulkModelViewSet):
    queryset = Gadget.objects.all()
    serializer_class = GadgetSerializer

    def perform_create(self, serializer):
        self.save_with_log(serializer, "create")

    def perform_update(self, serializer):
        self.save_with_log(serializer, "update")

    @staticmethod
    def save_with_log(serializer, action):
        """Save, write a related row, and fail where the item asks for a fault."""
        name = serializer.validated_data.get("name")
        if name == "boom":
            raise RuntimeError("secret internal detail")
        gadget = serializer.save()
        GadgetLog.objects.create(gadget=gadget, action=action)
        if name == "late-boom":
            raise RuntimeError("failed after writing")


class EventViewSet(BulkModelViewSet):
    queryset = Event.objects.all()
    serializer_class = EventSerializer

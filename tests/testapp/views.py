from django.db.models import Q
from rest_framework import permissions

from drf_multistatus import BulkModelViewSet

from .models import Gadget, Note
from .serializers import GadgetSerializer, NoteSerializer


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
        if serializer.validated_data["name"] == "boom":
            raise RuntimeError("secret internal detail")
        serializer.save()

    def perform_update(self, serializer):
        if serializer.validated_data.get("name") == "boom":
            raise RuntimeError("secret internal detail")
        serializer.save()

from rest_framework import serializers

from .models import Doc, Event, Gadget, Note


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ["id", "title", "public"]


class GadgetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Gadget
        fields = ["id", "name", "code", "quantity"]
        # Leave uniqueness to the database, as when a concurrent writer wins the race.
        extra_kwargs = {"code": {"validators": []}}


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "title", "starts", "day", "all_day", "score", "uid", "owner", "updated"]


class DocSerializer(serializers.ModelSerializer):
    """A PUT makes the requesting user the owner, so a replacement the policy should have
    refused takes the row over visibly."""

    owner = serializers.HiddenField(default=serializers.CurrentUserDefault())
    owner_id = serializers.ReadOnlyField()

    class Meta:
        model = Doc
        fields = ["id", "key", "title", "owner", "owner_id"]

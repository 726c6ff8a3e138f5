from rest_framework import serializers

from .models import Event, Gadget, Note


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

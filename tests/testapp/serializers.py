from rest_framework import serializers

from .models import Gadget, Note


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

from rest_framework import serializers

from .models import Company, Contact, Tag


class CompanySerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "name"]


class ContactSerializer(serializers.ModelSerializer):
    """A contact names its company by id and its tags by slug."""

    tags = serializers.SlugRelatedField(
        many=True, slug_field="slug", queryset=Tag.objects.all(), required=False
    )

    class Meta:
        model = Contact
        fields = ["id", "name", "email", "age", "company", "tags"]


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["slug", "label"]

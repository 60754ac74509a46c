from rest_framework import serializers

from events.models import Event


class EventOutputSerializer(serializers.ModelSerializer):
    store = serializers.CharField(source="store.code")
    store_name = serializers.CharField(source="store.name")
    organisation = serializers.CharField(source="organisation.slug")
    police_sharing = serializers.CharField(source="effective_police_sharing")

    class Meta:
        model = Event
        fields = ["id", "external_id", "organisation", "store", "store_name", "occurred_at", "type",
                  "police_sharing", "sensitive", "sensitive_reason", "created_at", "updated_at"]

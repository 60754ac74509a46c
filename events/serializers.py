from rest_framework import serializers

from events.models import Event


class EventOutputSerializer(serializers.ModelSerializer):
    """A list row: enough to recognise the event; the detail has the full interchange form."""

    store = serializers.CharField(source="store.code")
    store_name = serializers.CharField(source="store.name")
    organisation = serializers.CharField(source="organisation.slug")
    police_sharing = serializers.CharField(source="effective_police_sharing")

    class Meta:
        model = Event
        fields = ["id", "reference", "external_id", "organisation", "store", "store_name", "occurred_at", "type",
                  "police_sharing", "sensitive", "sensitive_reason", "prevented", "total_value",
                  "created_at", "updated_at"]


class EventDetailSerializer(serializers.Serializer):
    """The event in the interchange format (shared/INTERCHANGE.md) plus its system id."""

    def to_representation(self, instance):
        from events.interchange import event_to_interchange

        return event_to_interchange(instance)

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from evidence.models import CustodyEntry, EvidenceItem


class CustodyEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = CustodyEntry
        fields = ["action", "actor_email", "at", "purpose", "detail"]


class EvidenceItemSerializer(serializers.ModelSerializer):
    filename = serializers.CharField(source="original_filename")
    uploaded_by = serializers.CharField(source="uploaded_by.email", default=None)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceItem
        fields = ["id", "event", "person", "kind", "filename", "content_type", "size", "sha256", "original_sha256",
                  "width", "height", "thumbnail_state", "uploaded_by", "created_at", "deleted_at", "download_url"]

    def get_download_url(self, obj) -> str | None:
        return None if obj.is_deleted else reverse("evidence-api-download", args=[obj.pk])


class EvidenceDetailSerializer(EvidenceItemSerializer):
    custody = serializers.SerializerMethodField()
    statement = serializers.SerializerMethodField()

    class Meta(EvidenceItemSerializer.Meta):
        fields = EvidenceItemSerializer.Meta.fields + ["custody", "statement"]

    def get_custody(self, obj) -> list[dict]:
        entries = self.context.get("custody")
        return CustodyEntrySerializer(entries if entries is not None else obj.custody.all(), many=True).data

    def get_statement(self, obj) -> dict | None:
        s = getattr(obj, "statement", None) if obj.kind == "statement" else None
        if s is None:
            return None
        return {"witness_name": s.witness_name, "witness_contact": s.witness_contact, "statement": s.statement,
                "declaration_signed": s.declaration_signed, "signature_name": s.signature_name,
                "statement_date": s.statement_date}


class UploadInput(serializers.Serializer):
    """Documents the multipart body; each file is validated by evidence.validation."""

    files = serializers.ListField(child=serializers.FileField(), help_text="One or more files (repeat the field).")
    person = serializers.IntegerField(required=False, help_text="A person of the event the files are about.")
    atomic = serializers.BooleanField(required=False, default=False,
                                      help_text="Refuse every file when one is refused (default: keep the good ones).")


class RefusedFileSerializer(serializers.Serializer):
    file = serializers.CharField()
    reason = serializers.CharField()
    message = serializers.CharField()


class UploadOutput(serializers.Serializer):
    stored = EvidenceItemSerializer(many=True)
    refused = RefusedFileSerializer(many=True)


class StatementInput(serializers.Serializer):
    witness_name = serializers.CharField(max_length=120)
    witness_contact = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    statement = serializers.CharField(max_length=20000)
    declaration_signed = serializers.BooleanField()
    signature_name = serializers.CharField(max_length=120)
    statement_date = serializers.DateField()
    person = serializers.IntegerField(required=False, allow_null=True, default=None)

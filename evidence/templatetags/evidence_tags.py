"""`{% evidence_for event as ev %}`: what the evidence partial needs, under the access policy, so
that any page showing an event can include templates/evidence/_event_evidence.html."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from auror import access
from events.models import Event
from evidence.forms import EvidenceUploadForm
from evidence.models import EvidenceItem

register = template.Library()


@register.simple_tag(takes_context=True)
def evidence_for(context, event) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"items": [], "can_upload": False}
    items = (EvidenceItem.objects.visible_to(user).filter(event_id=event.pk)
             .select_related("person", "uploaded_by").order_by("created_at", "id"))
    can_upload = (user.role in access.RETAILER_ROLES
                  and Event.objects.visible_to(user, access.CHANGE).filter(pk=event.pk).exists())
    limits = settings.EVIDENCE_MAX_BYTES
    return {
        "items": list(items),
        "can_upload": can_upload,
        "form": context.get("evidence_upload_form") or (EvidenceUploadForm(event=event) if can_upload else None),
        "limits": (f"Images up to {filesizeformat(limits['image'])}, videos up to {filesizeformat(limits['video'])}, "
                   f"PDFs up to {filesizeformat(limits['document'])}."),
    }

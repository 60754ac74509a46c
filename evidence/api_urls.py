from django.urls import path
from rest_framework.routers import DefaultRouter

from evidence.api import EventEvidenceViewSet, EvidenceViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("evidence", EvidenceViewSet, basename="evidence-api")

urlpatterns = [
    path("events/<int:event_id>/evidence/", EventEvidenceViewSet.as_view({"get": "list", "post": "create"}),
         name="event-evidence"),
    path("events/<int:event_id>/statements/", EventEvidenceViewSet.as_view({"post": "statement"}),
         name="event-statements"),
    *router.urls,
]

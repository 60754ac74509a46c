from rest_framework.routers import SimpleRouter

from sharing.api import CrossMatchViewSet, DisclosureRequestViewSet

router = SimpleRouter()
router.register("cross-matches", CrossMatchViewSet, basename="cross-match")
router.register("disclosure-requests", DisclosureRequestViewSet, basename="disclosure-request")
urlpatterns = router.urls

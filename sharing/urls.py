from django.urls import path

from sharing import views

app_name = "sharing"
urlpatterns = [
    path("agreements/", views.AgreementListView.as_view(), name="agreements"),
    path("agreements/new/", views.AgreementProposeView.as_view(), name="agreement_propose"),
    path("agreements/<int:pk>/accept/", views.AgreementActionView.as_view(verb="accept"), name="agreement_accept"),
    path("agreements/<int:pk>/revoke/", views.AgreementActionView.as_view(verb="revoke"), name="agreement_revoke"),
    path("matches/", views.CrossMatchListView.as_view(), name="cross_matches"),
    path("matches/<int:pk>/", views.CrossMatchDetailView.as_view(), name="cross_match"),
    path("matches/<int:pk>/disclose/", views.DisclosureRequestCreateView.as_view(), name="disclosure_request"),
    path("disclosures/", views.DisclosureListView.as_view(), name="disclosures"),
    path("disclosures/<int:pk>/", views.DisclosureDetailView.as_view(), name="disclosure"),
]

from django.urls import path

from guardrails import views

app_name = "guardrails"

urlpatterns = [
    path("", views.LexiconView.as_view(), name="lexicon"),
    path("<int:pk>/disable/", views.EntryDisableView.as_view(), name="entry_disable"),
    path("<int:pk>/enable/", views.EntryEnableView.as_view(), name="entry_enable"),
]

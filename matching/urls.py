from django.urls import path

from matching import views

app_name = "matching"
urlpatterns = [
    path("", views.ReviewQueueView.as_view(), name="queue"),
    path("<int:pk>/", views.SuggestionView.as_view(), name="suggestion"),
    path("<int:pk>/judge/", views.JudgeView.as_view(), name="judge"),
    path("bulk-reject/", views.BulkRejectView.as_view(), name="bulk_reject"),
    path("judgements/", views.JudgementListView.as_view(), name="judgements"),
    path("judgements/<int:pk>/undo/", views.JudgementUndoView.as_view(), name="undo"),
    path("settings/", views.MatchSettingsView.as_view(), name="settings"),
]

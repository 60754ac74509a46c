from django.urls import path

from evidence import views

app_name = "evidence"
urlpatterns = [
    path("event/<int:pk>/", views.EventEvidenceView.as_view(), name="event"),
    path("event/<int:pk>/upload/", views.upload_view(), name="upload"),
    path("event/<int:pk>/statement/", views.StatementCreateView.as_view(), name="statement"),
    path("<int:pk>/", views.EvidenceItemView.as_view(), name="item"),
    path("<int:pk>/download/", views.EvidenceDownloadView.as_view(), name="download"),
    path("<int:pk>/thumbnail/", views.EvidenceThumbnailView.as_view(), name="thumbnail"),
    path("<int:pk>/delete/", views.EvidenceDeleteView.as_view(), name="delete"),
]

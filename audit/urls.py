from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [
    path("", views.AuditListView.as_view(), name="list"),
    path("export.csv", views.AuditExportView.as_view(), name="export"),
    path("<int:pk>/", views.AuditDetailView.as_view(), name="detail"),
]

from django.urls import path

from events import views, views_import

app_name = "events"
urlpatterns = [
    path("", views.EventListView.as_view(), name="list"),
    path("<int:pk>/", views.EventDetailView.as_view(), name="detail"),
    # Bulk import and export, the product catalogue (events.views_import)
    path("import/", views_import.ImportView.as_view(), name="import"),
    path("import/<int:pk>/", views_import.ImportJobView.as_view(), name="import_job"),
    path("import/<int:pk>/status/", views_import.ImportJobStatusView.as_view(), name="import_status"),
    path("import/<int:pk>/refused.csv", views_import.ImportJobErrorsView.as_view(), name="import_errors"),
    path("export/", views_import.EventExportView.as_view(), name="export"),
    path("catalogue/", views_import.CatalogueView.as_view(), name="catalogue"),
    path("products/search/", views_import.ProductSearchView.as_view(), name="product_search"),
]

from django.urls import path

from events import views, views_capture, views_import, views_vocabulary

app_name = "events"
urlpatterns = [
    path("", views.EventListView.as_view(), name="list"),
    path("<int:pk>/", views.EventDetailView.as_view(), name="detail"),
    # Recording and correcting events, drafts (events.views_capture)
    path("new/", views_capture.with_upload_cap(views_capture.EventCreateView), name="create"),
    path("<int:pk>/edit/", views_capture.with_upload_cap(views_capture.EventEditView), name="edit"),
    path("<int:pk>/delete/", views_capture.EventDeleteView.as_view(), name="delete"),
    path("drafts/", views_capture.DraftListView.as_view(), name="drafts"),
    path("drafts/<uuid:key>/", views_capture.DraftSaveView.as_view(), name="draft_save"),
    path("drafts/<uuid:key>/discard/", views_capture.DraftDiscardView.as_view(), name="draft_discard"),
    # Bulk import and export, the product catalogue (events.views_import)
    path("import/", views_import.ImportView.as_view(), name="import"),
    path("import/<int:pk>/", views_import.ImportJobView.as_view(), name="import_job"),
    path("import/<int:pk>/status/", views_import.ImportJobStatusView.as_view(), name="import_status"),
    path("import/<int:pk>/refused.csv", views_import.ImportJobErrorsView.as_view(), name="import_errors"),
    path("import/<int:pk>/left-out.csv", views_import.ImportJobWarningsView.as_view(), name="import_warnings"),
    # Descriptor synonyms (events.views_vocabulary)
    path("synonyms/", views_vocabulary.SynonymsView.as_view(), name="synonyms"),
    path("synonyms/<int:pk>/remove/", views_vocabulary.SynonymRemoveView.as_view(), name="synonym_remove"),
    path("export/", views_import.EventExportView.as_view(), name="export"),
    path("catalogue/", views_import.CatalogueView.as_view(), name="catalogue"),
    path("products/search/", views_import.ProductSearchView.as_view(), name="product_search"),
]

from django.urls import path

from profiles import views

app_name = "profiles"
urlpatterns = [
    path("", views.ProfileListView.as_view(), name="list"),
    path("<int:pk>/", views.ProfileDetailView.as_view(), name="detail"),
    path("<int:pk>/merge/", views.ProfileMergeView.as_view(), name="merge"),
    path("<int:pk>/split/", views.ProfileSplitView.as_view(), name="split"),
    path("vehicles/", views.VehicleListView.as_view(), name="vehicles"),
    path("vehicles/<int:pk>/", views.VehicleDetailView.as_view(), name="vehicle"),
    path("groups/", views.GroupListView.as_view(), name="groups"),
    path("groups/<int:pk>/", views.GroupDetailView.as_view(), name="group"),
    path("groups/<int:pk>/decide/", views.GroupDecideView.as_view(), name="group_decide"),
]

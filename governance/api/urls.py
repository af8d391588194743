from django.urls import path

from governance.api import views

urlpatterns = [
    path("whoami", views.WhoAmIApi.as_view(), name="whoami"),
]

from django.urls import path

from pages import views

urlpatterns = [
    path("", views.plain),
    path("template/", views.template),
    path("db/", views.database),
    path("healthz/", views.healthz),
]

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    path("studies/new/", views.study_create_view, name="study_create"),
    path("studies/<int:study_id>/", views.study_detail, name="study_detail"),
    path("studies/<int:study_id>/edit/", views.study_edit, name="study_edit"),
    path(
        "studies/<int:study_id>/archive/",
        views.study_archive_view,
        {"archive": True},
        name="study_archive",
    ),
    path(
        "studies/<int:study_id>/unarchive/",
        views.study_archive_view,
        {"archive": False},
        name="study_unarchive",
    ),
    path("studies/<int:study_id>/members/", views.study_members_page, name="study_members"),
    path(
        "studies/<int:study_id>/members/remove/",
        views.study_member_remove_view,
        name="study_member_remove",
    ),
    path(
        "studies/<int:study_id>/invitations/<int:invitation_id>/cancel/",
        views.study_invitation_cancel_view,
        name="study_invitation_cancel",
    ),
    path(
        "invitations/<int:invitation_id>/accept/",
        views.invitation_answer,
        {"answer": "accept"},
        name="invitation_accept",
    ),
    path(
        "invitations/<int:invitation_id>/decline/",
        views.invitation_answer,
        {"answer": "decline"},
        name="invitation_decline",
    ),
    path("join/<str:token>/", views.invitation_link, name="invitation_link"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]

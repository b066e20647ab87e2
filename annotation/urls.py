from django.urls import path

from annotation import views

app_name = "annotation"
urlpatterns = [
    path("projects/<int:project_id>/", views.project_detail, name="project"),
    path("studies/<int:study_id>/new/", views.project_new, name="project_new"),
    path("projects/<int:project_id>/items/", views.project_items, name="items"),
    path("projects/<int:project_id>/settings/", views.project_settings, name="settings"),
    path("projects/<int:project_id>/expert-sample/", views.expert_sample, name="expert_sample"),
    path("projects/<int:project_id>/categories/", views.project_categories, name="categories"),
    path("projects/<int:project_id>/import/", views.project_import, name="import"),
    path("projects/<int:project_id>/ratings/", views.ratings_import, name="ratings_import"),
    path("projects/<int:project_id>/members/", views.member_add, name="member_add"),
    path("projects/<int:project_id>/members/remove/", views.member_remove, name="member_remove"),
    path("projects/<int:project_id>/agreement/", views.agreement_refresh, name="agreement_refresh"),
    path("projects/<int:project_id>/votes/export/", views.votes_export, name="votes_export"),
    path("projects/<int:project_id>/exclusions/", views.exclusion_create, name="exclude"),
    path("exclusions/<int:exclusion_id>/lift/", views.exclusion_lift, name="lift"),
    path("projects/<int:project_id>/guidelines/", views.guidelines, name="guidelines"),
    path("projects/<int:project_id>/annotate/", views.annotate, name="annotate"),
    path("projects/<int:project_id>/annotate/submit/", views.annotate_submit, name="submit"),
    path("projects/<int:project_id>/annotate/skip/", views.annotate_skip, name="skip"),
    path("projects/<int:project_id>/annotate/undo/", views.annotate_undo, name="undo"),
    path("projects/<int:project_id>/adjudication/", views.adjudication_queue, name="adjudication"),
    path("items/<int:item_id>/adjudicate/", views.adjudicate_item, name="adjudicate"),
    path("items/<int:item_id>/media/", views.media, name="media"),
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
]

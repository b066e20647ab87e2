from django.urls import path

from annotation import api

urlpatterns = [
    path("projects/", api.project_list_api, name="api-annotation-projects"),
    path("projects/<int:project_id>/", api.project_detail_api, name="api-annotation-project"),
    path("projects/<int:project_id>/members/", api.member_list_api),
    path("projects/<int:project_id>/members/<str:username>/", api.member_detail_api),
    path("projects/<int:project_id>/invitations/", api.project_invitation_list_api),
    path("invitations/", api.invitation_list_api),
    path("invitations/<int:invitation_id>/accept/", api.invitation_accept_api),
    path("invitations/<int:invitation_id>/decline/", api.invitation_decline_api),
    path("projects/<int:project_id>/items/", api.item_list_api),
    path("projects/<int:project_id>/ratings/", api.ratings_import_api),
    path("projects/<int:project_id>/next/", api.next_item_api),
    path("projects/<int:project_id>/submit/", api.submit_api),
    path("projects/<int:project_id>/skip/", api.skip_api),
    path("projects/<int:project_id>/undo/", api.undo_api),
    path("projects/<int:project_id>/annotations/", api.annotation_list_api),
    path("projects/<int:project_id>/votes/", api.vote_table_api),
    path("projects/<int:project_id>/expert-sample/", api.expert_sample_api),
    path("projects/<int:project_id>/categories/", api.categories_api),
    path("projects/<int:project_id>/votes/export/", api.votes_export_api),
    path("projects/<int:project_id>/agreement/", api.agreement_api),
    path("projects/<int:project_id>/annotators/", api.annotator_table_api),
    path("projects/<int:project_id>/exclusions/", api.exclusion_list_api),
    path("projects/<int:project_id>/adjudication/", api.adjudication_queue_api),
    path("annotations/<int:annotation_id>/", api.annotation_detail_api),
    path("exclusions/<int:exclusion_id>/lift/", api.exclusion_lift_api),
    path("items/<int:item_id>/adjudication/", api.item_adjudication_api),
]

from django.urls import path

from surveys import api

urlpatterns = [
    path("populations/", api.population_create_api, name="api-survey-population-create"),
    path(
        "populations/<int:population_id>/",
        api.population_detail_api,
        name="api-survey-population-detail",
    ),
    path("panels/", api.panel_create_api, name="api-survey-panel-create"),
    path("panels/<int:panel_id>/import/", api.panel_import_api, name="api-survey-panel-import"),
    path(
        "panels/<int:panel_id>/contacts/", api.panel_contacts_api, name="api-survey-panel-contacts"
    ),
    path("designs/", api.design_create_api, name="api-survey-design-create"),
    path("designs/preview/", api.design_preview_api, name="api-survey-design-preview"),
    path("designs/<int:design_id>/", api.design_detail_api, name="api-survey-design-detail"),
    path("surveys/", api.survey_list_api, name="api-survey-list"),
    path("surveys/<int:survey_id>/", api.survey_detail_api, name="api-survey-detail"),
    path("surveys/<int:survey_id>/blocks/", api.block_create_api, name="api-survey-block-create"),
    path(
        "surveys/<int:survey_id>/questions/",
        api.question_create_api,
        name="api-survey-question-create",
    ),
    path("surveys/<int:survey_id>/open/", api.survey_open_api, name="api-survey-open"),
    path("surveys/<int:survey_id>/close/", api.survey_close_api, name="api-survey-close"),
    path("surveys/<int:survey_id>/draws/", api.draw_create_api, name="api-survey-draw"),
    path(
        "surveys/<int:survey_id>/invitations/send/",
        api.invitations_send_api,
        name="api-survey-invitations-send",
    ),
    path("surveys/<int:survey_id>/weights/", api.weights_api, name="api-survey-weights"),
    path("surveys/<int:survey_id>/exports/", api.export_api, name="api-survey-export"),
    path(
        "surveys/<int:survey_id>/ground-truth/",
        api.ground_truth_api,
        name="api-survey-ground-truth",
    ),
    path("surveys/<int:survey_id>/responses/", api.response_list_api, name="api-survey-responses"),
    path(
        "questions/<int:question_id>/",
        api.question_detail_api,
        name="api-survey-question-detail",
    ),
    path(
        "questions/<int:question_id>/move/",
        api.question_move_api,
        name="api-survey-question-move",
    ),
    path(
        "questions/<int:question_id>/submit/",
        api.question_submit_api,
        name="api-survey-question-submit",
    ),
    path(
        "questions/<int:question_id>/reviews/",
        api.question_review_api,
        name="api-survey-question-review",
    ),
]

from django.urls import path, register_converter

from surveys import participant, views


class SectionConverter:
    """The sections of a survey's dashboard (``views.SECTIONS``)."""

    regex = "results|overview|fieldwork|quotas|representativeness"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(SectionConverter, "section")

app_name = "surveys"
urlpatterns = [
    path("r/<str:token>/", participant.participant, name="participant"),
    path("<int:survey_id>/", views.survey_dashboard, name="dashboard"),
    path("<int:survey_id>/<section:section>/", views.survey_dashboard, name="dashboard_section"),
    path("<int:survey_id>/quotas/save/", views.quotas_update, name="quotas_update"),
    path("<int:survey_id>/weights/merge/", views.weights_merge, name="weights_merge"),
    path("populations/<int:population_id>/", views.population_detail, name="population"),
    path("panels/<int:panel_id>/", views.panel_detail, name="panel"),
    path("<int:survey_id>/review/", views.review_queue, name="review_queue"),
    path("<int:survey_id>/invitees/", views.survey_invitees, name="invitees"),
    path("<int:survey_id>/invitees.csv", views.survey_invitees_csv, name="invitees_csv"),
    path("<int:survey_id>/open-link-qr.svg", views.survey_open_link_qr, name="open_link_qr"),
    path(
        "<int:survey_id>/review/<int:question_id>/", views.review_question, name="review_question"
    ),
    path("<int:survey_id>/questions/", views.questionnaire, name="questionnaire"),
    path("<int:survey_id>/questions/new/", views.question_new, name="question_new"),
    path("<int:survey_id>/settings/", views.survey_settings, name="survey_settings"),
    path(
        "<int:survey_id>/blocks/<int:block_id>/<str:action>/",
        views.block_edit,
        name="block_edit",
    ),
    path(
        "<int:survey_id>/questions/<int:question_id>/edit/",
        views.question_edit,
        name="question_edit",
    ),
    path(
        "<int:survey_id>/questions/<int:question_id>/delete/",
        views.question_delete,
        name="question_delete",
    ),
    path(
        "<int:survey_id>/questions/<int:question_id>/move/<str:direction>/",
        views.question_move,
        name="question_move",
    ),
    path(
        "<int:survey_id>/questions/<int:question_id>/submit/",
        views.question_submit,
        name="question_submit",
    ),
    path("<int:survey_id>/status/<str:action>/", views.survey_status, name="survey_status"),
    path("<int:survey_id>/draw/<str:kind>/", views.sample_draw, name="sample_draw"),
    path("<int:survey_id>/send/<str:kind>/", views.invitations_send, name="invitations_send"),
    path("<int:survey_id>/export/<str:fmt>/", views.export_start, name="export"),
    path("<int:survey_id>/weights/", views.weights_start, name="weights"),
    path("studies/<int:study_id>/setup/", views.setup, name="setup"),
    path(
        "studies/<int:study_id>/setup/population/",
        views.population_new,
        name="setup_population",
    ),
    path("studies/<int:study_id>/setup/panel/", views.panel_new, name="setup_panel"),
    path("studies/<int:study_id>/setup/design/", views.design_new, name="setup_design"),
    path("studies/<int:study_id>/setup/survey/", views.survey_new, name="setup_survey"),
]

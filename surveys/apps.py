from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"

    def ready(self) -> None:
        from sources import registry
        from surveys.sources import SurveySource

        registry.register(SurveySource())

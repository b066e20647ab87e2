from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"

    def ready(self) -> None:
        from annotation.sources import AnnotationSource, dataset_agreement
        from sources import registry

        registry.register(AnnotationSource())
        registry.register_measure("agreement", dataset_agreement)

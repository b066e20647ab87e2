from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    name = "benchmarks"

    def ready(self) -> None:
        from benchmarks.uploads import UploadSource
        from sources import registry

        registry.register(UploadSource())

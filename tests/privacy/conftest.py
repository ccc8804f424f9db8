"""Privacy fixtures: the pipeline's fast models."""

from tests.pipeline.conftest import fast_models, short_recording  # noqa: F401

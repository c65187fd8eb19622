"""The daily job reuses the trained runtime home of the serving tests."""

from tests.serving.conftest import trained_home  # noqa: F401

"""Fixtures for the follow-through tests: the publishing tests' fake services, settings and meeting (shared)."""

from tests.publishing.conftest import clock, discord, forum, github, settings  # noqa: F401

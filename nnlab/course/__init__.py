"""A course: course.toml, accounts, the course server, its grading queue, the student kit and client."""
from __future__ import annotations

"""Click commands of the LMS link: `nnlab lti keys` and `nnlab lti sync`."""
from __future__ import annotations

from pathlib import Path

import click


def register(group: click.Group) -> None:
    """Adds the `nnlab lti` group (imports nothing heavy)."""

    @group.group()
    def lti() -> None:
        """The course in an LMS (LTI 1.3): the tool's keys, grade passback."""

    @lti.command()
    @click.option("--data", "data_dir", type=click.Path(path_type=Path), required=True,
                  help="The server's data folder: the key pair is kept there (0600).")
    @click.option("--url", "base_url", default="http://127.0.0.1:8000", show_default=True, metavar="URL",
                  help="The server's address as the LMS and browsers reach it.")
    def keys(data_dir: Path, base_url: str) -> None:
        """Make the tool's RSA key pair (once) and print what to paste into the LMS."""
        from nnlab.course.client import normalize_url
        from nnlab.course.lti.keys import key_path, make_key, tool_urls

        key, made = make_key(data_dir)
        urls = tool_urls(normalize_url(base_url))
        click.echo(f"Tool key: {key_path(data_dir)} ({'made now' if made else 'already there'}; "
                   f"key id {key.kid})")
        click.echo("Paste into the LMS when adding nnlab as an LTI 1.3 tool:")
        click.echo(f"  Login / OpenID Connect initiation URL: {urls['login']}")
        click.echo(f"  Redirect / launch URL (target link):   {urls['launch']}")
        click.echo(f"  Public keyset (JWKS) URL:              {urls['jwks']}")
        click.echo("Then copy the LMS's issuer, client id, deployment id and its three URLs into "
                   "course.toml's [lti] table.")

    @lti.command()
    @click.option("--assignment", required=True, help="The assignment whose scores are sent again.")
    def sync(assignment: str) -> None:
        """Instructor: send every counted score of an assignment to the LMS again."""
        from nnlab.course.client import CourseClient
        from nnlab.course.schemas import LtiSyncQueued

        answer = CourseClient.from_config().post("/api/v1/lti/sync", {"assignment": assignment}, LtiSyncQueued)
        click.echo(f"{answer.queued} score(s) of {answer.assignment} queued for the LMS; "
                   "the server sends them and retries until the LMS takes them.")


def pull_lti_roster(course_file: Path, data_dir: Path) -> None:
    """`nnlab roster COURSE.toml --data DATA_DIR --lti`: the LMS's members into accounts."""
    from nnlab.course.lti.roster import pull_roster

    pulled = pull_roster(course_file, data_dir)
    click.echo(f"{len(pulled.active)} member(s) from the LMS: accounts made or updated (names, roles).")
    if pulled.left:
        click.echo(f"Marked as left (accounts kept): {', '.join(pulled.left)}")

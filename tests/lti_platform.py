"""A real LTI 1.3 platform on loopback, playing Canvas' side of the flow byte for byte (joserfc).

Its own RSA keys and JWKS; the OIDC authorization endpoint that answers the tool's login redirect
by form-posting a signed id_token; the OAuth2 token endpoint, which verifies the tool's client
assertion against the tool's own /lti/jwks; NRPS memberships; AGS line items and scores. Every
service call it gets is recorded for the tests to read. Nothing here skips a signature.
"""
from __future__ import annotations

import datetime
import html
import json
import re
import secrets
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "10000000000001"
DEPLOYMENT = "1:abc"
CONTEXT = "course-42"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
SCOPES = {
    "lineitem": "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "score": "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "members": "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
}
_DROP = object()
"""An override value that removes the claim."""


@dataclass
class PendingLaunch:
    """What the next authorization request with this login_hint turns into."""

    sub: str
    name: str
    email: str
    roles: list[str]
    custom: dict[str, str]
    overrides: dict[str, Any] = field(default_factory=dict)
    sign_with: RSAKey | None = None
    """Sign with this key instead (its kid header still names the platform's current key)."""
    kid: str | None = None
    """Name this kid in the header instead of the current key's."""


def _key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, private=True, parameters={"kid": kid, "alg": "RS256", "use": "sig"})


class LmsPlatform:
    """The platform: start() it, register launches, then read what the tool sent."""

    def __init__(self) -> None:
        self.keys = [_key("platform-1")]
        self.launches: dict[str, PendingLaunch] = {}
        self.id_tokens: list[str] = []
        self.members: list[dict[str, Any]] = []
        self.lineitems: list[dict[str, Any]] = []
        self.scores: list[dict[str, Any]] = []
        self.failed_scores = 0
        self.down = False
        """While True, the scores endpoint answers 503."""
        self.jwks_fetches = 0
        self.jwks_status = 200
        """What the JWKS endpoint answers: its keys at 200, an error page otherwise."""
        self.tool_jwks: dict[str, Any] | None = None
        """The tool's public keys, given here when no tool server publishes them (in-process tests)."""
        self.refused_scores: list[tuple[int, str]] = []
        """(status, why) of each score this platform refused, as Moodle refuses them."""
        self.last_stamp: dict[tuple[str, str], int] = {}
        """(line item path, userId) -> whole second of the newest score taken."""
        self.tokens: dict[str, str] = {}
        self.tool_url = ""
        self.lock = threading.Lock()
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.issuer = self.url
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    # ------------------------------------------------------------------ set-up

    def start(self) -> LmsPlatform:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()

    def registration(self, table: str = "[lti]", key_set_url: str | None = None) -> str:
        """The [lti] table the instructor pastes into course.toml (`[[lti]]` for one of several)."""
        return (f'{table}\nissuer = "{self.issuer}"\nclient_id = "{CLIENT_ID}"\n'
                f'deployment_ids = ["{DEPLOYMENT}"]\n'
                f'auth_login_url = "{self.url}/api/lti/authorize_redirect"\n'
                f'auth_token_url = "{self.url}/login/oauth2/token"\n'
                f'key_set_url = "{key_set_url or self.url + "/api/lti/security/jwks"}"\n')

    def rotate(self) -> None:
        """A new signing key, published beside the old one (as Canvas rotates monthly)."""
        self.keys.append(_key(f"platform-{len(self.keys) + 1}"))

    def expect(self, launch: PendingLaunch) -> str:
        """Registers a launch; the login_hint that the tool's redirect will carry back."""
        hint = secrets.token_hex(8)
        self.launches[hint] = launch
        return hint

    # ------------------------------------------------------------------ the id_token

    def id_token(self, launch: PendingLaunch, nonce: str) -> str:
        now = int(time.time())
        ags = f"{self.url}/api/lti/courses/42/line_items"
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": CLIENT_ID, "azp": CLIENT_ID, "sub": launch.sub,
            "exp": now + 300, "iat": now, "nonce": nonce, "name": launch.name, "email": launch.email,
            CLAIM + "deployment_id": DEPLOYMENT, CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "version": "1.3.0", CLAIM + "roles": launch.roles,
            CLAIM + "target_link_uri": f"{self.tool_url}/lti/launch",
            CLAIM + "resource_link": {"id": "link-7", "title": "Layers"},
            CLAIM + "context": {"id": CONTEXT, "label": "DL", "title": "Deep Learning",
                                "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]},
            CLAIM + "custom": launch.custom,
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": f"{self.url}/api/lti/courses/42/names_and_roles",
                "service_versions": ["2.0"]},
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": [SCOPES["lineitem"], SCOPES["score"]], "lineitems": ags},
        }
        for name, value in launch.overrides.items():
            if value is _DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        current = self.keys[-1]
        token = jwt.encode({"alg": "RS256", "kid": launch.kid or current.kid, "typ": "JWT"}, claims,
                           launch.sign_with or current)
        self.id_tokens.append(token)
        return token

    # ------------------------------------------------------------------ endpoints

    def authorize(self, params: dict[str, str]) -> tuple[int, str]:
        """The OIDC authorization endpoint: checks the tool's request, answers with the auto-post form."""
        wanted = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
                  "prompt": "none", "client_id": CLIENT_ID}
        wrong = [k for k, v in wanted.items() if params.get(k) != v]
        if wrong or params.get("redirect_uri") != f"{self.tool_url}/lti/launch" or not params.get("nonce") \
                or not params.get("state") or params.get("login_hint") not in self.launches:
            return 400, f"invalid authorization request ({', '.join(wrong) or 'redirect_uri/hint/nonce'})"
        launch = self.launches[params["login_hint"]]
        token = self.id_token(launch, params["nonce"])
        inputs = "".join(f'<input type="hidden" name="{n}" value="{html.escape(v)}">'
                         for n, v in (("id_token", token), ("state", params["state"])))
        page = (f'<!DOCTYPE html><html><body><form action="{html.escape(params["redirect_uri"])}" '
                f'method="POST">{inputs}</form><script>document.forms[0].submit()</script></body></html>')
        return 200, page

    def course_page(self, hint: str) -> str:
        """The LMS page that opens the tool: an auto-posting form to its login initiation URL, as
        Canvas renders it when a student clicks an external tool assignment."""
        fields = {"iss": self.issuer, "login_hint": hint, "target_link_uri": f"{self.tool_url}/lti/launch",
                  "lti_message_hint": "m-" + hint, "client_id": CLIENT_ID, "lti_deployment_id": DEPLOYMENT,
                  "canvas_region": "not_configured", "lti_storage_target": "_parent"}
        inputs = "".join(f'<input type="hidden" name="{n}" value="{html.escape(v)}">' for n, v in fields.items())
        return (f'<!DOCTYPE html><html><body><form action="{self.tool_url}/lti/login" method="POST">'
                f'{inputs}</form><script>document.forms[0].submit()</script></body></html>')

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint: the client assertion must verify against the tool's published JWKS."""
        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != \
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type"}
        if self.tool_jwks is not None:
            tool_keys = KeySet.import_key_set(self.tool_jwks)
        else:
            with urllib.request.urlopen(f"{self.tool_url}/lti/jwks", timeout=10) as answer:
                tool_keys = KeySet.import_key_set(json.loads(answer.read()))
        try:
            claims = jwt.decode(form.get("client_assertion", ""), tool_keys, algorithms=["RS256"]).claims
        except Exception as error:  # noqa: BLE001 - any JOSE failure is the client's fault here
            return 401, {"error": "invalid_client", "error_description": str(error)}
        now = time.time()
        if claims.get("iss") != CLIENT_ID or claims.get("sub") != CLIENT_ID or \
                claims.get("aud") != f"{self.url}/login/oauth2/token" or claims.get("exp", 0) < now \
                or not claims.get("jti"):
            return 401, {"error": "invalid_client", "error_description": "bad assertion claims"}
        access = secrets.token_urlsafe(16)
        self.tokens[access] = form.get("scope", "")
        return 200, {"access_token": access, "token_type": "Bearer", "expires_in": 3600,
                     "scope": form.get("scope", "")}

    def authorized(self, header: str, scope: str) -> bool:
        kind, _, access = header.partition(" ")
        return kind == "Bearer" and scope in self.tokens.get(access, "").split()

    def memberships(self, page: int) -> tuple[dict[str, Any], str]:
        """Two members a page, the next page in a Link header, as Canvas pages them."""
        chunk = self.members[page * 2:page * 2 + 2]
        link = ""
        if len(self.members) > page * 2 + 2:
            link = f'<{self.url}/api/lti/courses/42/names_and_roles?page={page + 1}>; rel="next"'
        return {"id": f"{self.url}/api/lti/courses/42/names_and_roles",
                "context": {"id": CONTEXT, "title": "Deep Learning"}, "members": chunk}, link

    def take_score(self, lineitem: str, score: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The score service, checking a score as Moodle's does: the required fields, a maximum
        beside a given score, and a timestamp later (in whole seconds) than the last one taken."""
        required = ("userId", "timestamp", "activityProgress", "gradingProgress")
        why = ""
        if any(not isinstance(score.get(k), str) for k in required):
            status, why = 400, f"a score needs {', '.join(required)}"
        elif "scoreGiven" in score and not isinstance(score.get("scoreMaximum"), (int, float)):
            status, why = 400, "scoreGiven without scoreMaximum"
        else:
            second = int(datetime.datetime.fromisoformat(score["timestamp"]).timestamp())
            key = (lineitem, score["userId"])
            with self.lock:
                if self.last_stamp.get(key, -1) >= second:
                    status, why = 409, "Refusing score with an earlier timestamp"
                else:
                    self.last_stamp[key] = second
                    self.scores.append({**score, "lineitem": lineitem})
                    return 200, {"resultUrl": f"{self.url}{lineitem}/results/1"}
        self.refused_scores.append((status, why))
        return status, {"error": why}

    def add_lineitem(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            item = {**body, "id": f"{self.url}/api/lti/courses/42/line_items/{len(self.lineitems) + 1}"}
            self.lineitems.append(item)
        return item


class _Handler(BaseHTTPRequestHandler):
    """The platform's HTTP side; `platform` is set on a subclass per platform."""

    platform: LmsPlatform

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, content_type: str = "application/json",
              link: str = "") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if link:
            self.send_header("Link", link)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        auth = self.headers.get("Authorization", "")
        if url.path == "/api/lti/security/jwks":
            self.platform.jwks_fetches += 1
            if self.platform.jwks_status != 200:
                return self._send(self.platform.jwks_status, "<h1>Internal error</h1>", "text/html")
            self._send(200, {"keys": [k.as_dict(private=False) for k in self.platform.keys]})
        elif url.path.startswith("/courses/42/external_tools/"):
            self._send(200, self.platform.course_page(url.path.rsplit("/", 1)[1]), "text/html; charset=utf-8")
        elif url.path == "/api/lti/authorize_redirect":
            status, page = self.platform.authorize(query)
            self._send(status, page, "text/html; charset=utf-8")
        elif url.path == "/api/lti/courses/42/names_and_roles":
            if not self.platform.authorized(auth, SCOPES["members"]):
                return self._send(401, {"error": "unauthorized"})
            body, link = self.platform.memberships(int(query.get("page", "0")))
            self._send(200, body, "application/vnd.ims.lti-nrps.v2.membershipcontainer+json", link)
        elif url.path == "/api/lti/courses/42/line_items":
            if not self.platform.authorized(auth, SCOPES["lineitem"]):
                return self._send(401, {"error": "unauthorized"})
            items = [i for i in self.platform.lineitems
                     if "resource_id" not in query or i.get("resourceId") == query["resource_id"]]
            self._send(200, items, "application/vnd.ims.lis.v2.lineitemcontainer+json")
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        body = self._body()
        auth = self.headers.get("Authorization", "")
        kind = self.headers.get("Content-Type", "")
        if url.path == "/login/oauth2/token":
            self._send(*self.platform.token(dict(urllib.parse.parse_qsl(body.decode()))))
        elif url.path == "/api/lti/authorize_redirect":
            status, page = self.platform.authorize(dict(urllib.parse.parse_qsl(body.decode())))
            self._send(status, page, "text/html; charset=utf-8")
        elif url.path == "/api/lti/courses/42/line_items":
            if not self.platform.authorized(auth, SCOPES["lineitem"]) or \
                    kind != "application/vnd.ims.lis.v2.lineitem+json":
                return self._send(401, {"error": "unauthorized or wrong type"})
            self._send(200, self.platform.add_lineitem(json.loads(body)),
                       "application/vnd.ims.lis.v2.lineitem+json")
        elif re.fullmatch(r"/api/lti/courses/42/line_items/\d+/scores", url.path):
            if self.platform.down:
                self.platform.failed_scores += 1
                return self._send(503, {"error": "maintenance"})
            if not self.platform.authorized(auth, SCOPES["score"]) or \
                    kind != "application/vnd.ims.lis.v1.score+json":
                return self._send(401, {"error": "unauthorized or wrong type"})
            self._send(*self.platform.take_score(url.path.rsplit("/", 1)[0], json.loads(body)))
        else:
            self._send(404, {"error": "not found"})


def _handler(platform: LmsPlatform) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"platform": platform})


def parse_form(page: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the auto-posting form, as a browser reads them."""
    action = html.unescape(re.search(r'<form action="([^"]*)"', page).group(1))
    fields = {n: html.unescape(v) for n, v in re.findall(r'name="([^"]+)" value="([^"]*)"', page)}
    return action, fields

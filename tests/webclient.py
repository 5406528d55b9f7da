"""A small cookie-keeping HTTP client for the course server's browser pages (no redirects followed)."""
from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    text: str

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    def set_cookies(self) -> list[str]:
        return [v for k, v in self.headers if k.lower() == "set-cookie"]

    def csrf(self) -> str:
        """The first form's CSRF token on this page."""
        found = re.search(r'name="csrf" value="([^"]*)"', self.text)
        assert found, f"no CSRF field on the page:\n{self.text[:2000]}"
        return found.group(1)


@dataclass
class Browser:
    """What a browser keeps between requests: its cookies."""

    url: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def open(self, method: str, path: str, data: bytes | None = None,
             headers: dict[str, str] | None = None) -> Answer:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        try:
            with opener.open(request, timeout=120) as response:
                return Answer(response.status, list(response.headers.items()),
                              response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:
            return Answer(error.code, list(error.headers.items()), error.read().decode("utf-8", "replace"))

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return self.open("GET", path, headers=headers)

    def post(self, path: str, form: dict[str, str], headers: dict[str, str] | None = None) -> Answer:
        data = urllib.parse.urlencode(form).encode()
        return self.open("POST", path, data, {"Content-Type": "application/x-www-form-urlencoded",
                                              **(headers or {})})

    def post_files(self, path: str, form: dict[str, str], files: dict[str, bytes],
                   field_name: str = "files") -> Answer:
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in form.items()]
        for name, data in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; '
                         f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                         + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.open("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def sign_in(self, token: str) -> Answer:
        page = self.get("/login")
        return self.post("/login", {"csrf": page.csrf(), "token": token})

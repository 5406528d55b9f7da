"""HTML pages of the course server, in the reports' page shell and style (autoescaped Jinja2)."""
from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2

_SUBMISSION = """{% extends "base.html.j2" %}
{% block title %}{{ s.assignment }}: submission {{ s.id }}{% endblock %}
{% block extra_style %}
.adjusted { margin: 8px 0 12px; padding: 8px 12px; border-left: 4px solid var(--accent);
  background: #f1f8ff; border-radius: 0 6px 6px 0; }
.adjusted p { margin: 0 0 6px; }
.adjusted table { margin: 4px 0 0; background: #fff; }
td.reason { white-space: pre-wrap; word-break: break-word; min-width: 16em; }
.late { margin: 8px 0 12px; padding: 8px 12px; border-left: 4px solid var(--amber-line);
  background: var(--amber-bg); border-radius: 0 6px 6px 0; }
p.not-submitted { color: var(--muted); }
{% endblock %}
{% macro adjustment_table(adjustments) %}
<div class="table-wrap">
<table>
  <thead><tr><th class="num">Change</th><th>Check</th><th>Reason</th><th>By</th><th>Date</th></tr></thead>
  <tbody>
  {% for a in adjustments %}
    <tr>
      <td class="num">{% if "change" not in a %}{{ "set to %g" % a.points if a.kind == "override" else a.points | signed }}{% else %}{{ a.change | signed }}{% if a.kind == "override" %} <span class="muted">(set to {{ a.points | num }})</span>{% endif %}{% endif %}</td>
      <td>{% if a.check %}<code>{{ a.check }}</code>{% elif a.get("hidden_check") %}a hidden check{% else %}<span class="muted">whole exercise</span>{% endif %}</td>
      <td class="reason">{{ a.reason }}</td>
      <td>{{ a.author }}</td>
      <td>{{ a.date | when or "—" }}</td>
    </tr>
  {% endfor %}
  </tbody>
</table>
</div>
{% endmacro %}
{% block content %}
<h1>{{ s.assignment }}: {{ s.student }}</h1>
<dl class="meta">
  <dt>Submission</dt><dd><code>{{ s.id }}</code></dd>
  <dt>Uploaded</dt><dd>{{ s.submitted_at | when }}{% if s.late_days %} <span class="warn">({{ s.late_days }} day{{ "" if s.late_days == 1 else "s" }} late)</span>{% endif %}</dd>
  <dt>Status</dt><dd><strong>{{ s.status }}</strong></dd>
  {% if r %}<dt>Graded</dt><dd>{{ r.get("graded_at") | when or "—" }}</dd>{% endif %}
</dl>
{% if s.get("error") %}<p class="note">{{ s.error }}</p>{% endif %}
{% if r %}
<p class="big">{{ r.score | num }} <span class="muted">/ {{ r.max_score | num }}</span></p>
{% if r.get('late_penalty') %}
<p class="late">The checks gave {{ r.raw_score | num }}; late penalty {{ (r.late_penalty * 100) | round(0) | int }}% for {{ r.late_days }} day{{ "" if r.late_days == 1 else "s" }} late: {{ r.score | num }} counts. The checks below show what they gave, before the penalty.</p>
{% endif %}
{% if r.get('hidden_note') %}<p class="note">{{ r.hidden_note | ticks }}.</p>{% endif %}
{% for ex in r.exercises %}
<h2><code>{{ ex.id }}</code>{% if ex.title and ex.title != ex.id %} <span class="sub">{{ ex.title | ticks }}</span>{% endif %}<span class="right">{{ ex.score | num }} / {{ ex.max_score | num }}</span></h2>
{% if ex.get("adjustments") %}
<div class="adjusted"><p><strong>Adjusted by your instructor</strong>: the checks gave {{ ex.original_score | num }};
the score is {{ ex.score | num }} / {{ ex.max_score | num }}.</p>{{ adjustment_table(ex.adjustments) }}</div>
{% elif ex.get("full_score_adjustments") %}
<div class="adjusted"><p><strong>Adjusted by your instructor</strong>: these change your score on the whole exercise,
hidden checks included, which is not shown yet; the score above is on the checks shown.</p>
{{ adjustment_table(ex.full_score_adjustments) }}</div>
{% endif %}
{% if not ex.submitted %}<p class="not-submitted">not submitted</p>{% else %}
{% if ex.note %}<p class="note">{{ ex.note | ticks }}</p>{% endif %}
<div class="table-wrap">
<table class="checks">
  <thead><tr><th>Check</th><th>Visibility</th><th>Outcome</th><th class="num">Points</th><th>Message</th></tr></thead>
  <tbody>
  {% for c in ex.checks %}
    <tr>
      <td class="name">{{ c.name | ticks }}</td>
      <td><span class="tag tag-{{ c.visibility }}">{{ c.visibility }}</span></td>
      <td><span class="badge badge-{{ c.outcome }}">{{ c.outcome }}</span></td>
      <td class="num {{ score_class(c.score, c.max_score) }}">{{ c.score | num }} / {{ c.max_score | num }}</td>
      <td>{% if c.outcome != "passed" and c.message %}<pre class="msg">{{ c.message }}</pre>{% else %}<span class="muted">—</span>{% endif %}</td>
    </tr>
  {% endfor %}
  </tbody>
</table>
</div>
{% if ex.get('hidden_checks') %}<p class="muted">{{ ex.hidden_checks }} hidden check{{ "" if ex.hidden_checks == 1 else "s" }} not shown yet.</p>{% endif %}
{% endif %}
{% endfor %}
{% endif %}
{% endblock %}
"""


@functools.lru_cache(maxsize=4)
def _environment(timezone: str) -> jinja2.Environment:
    """The reports' environment (their page shell, styling and filters, autoescaped: student ids,
    file names and check messages all come from outside), with the course's clock."""
    from nnlab.reports.render import environment

    env = environment().overlay()
    env.filters["signed"] = lambda value: f"{float(value):+g}"
    env.filters["when"] = functools.partial(format_when, timezone=timezone)
    return env


def format_when(value: str | None, timezone: str) -> str:
    """An ISO 8601 instant as people read it, in the course's timezone:
    '2026-12-06T10:53:36+00:00' -> 'Sun 6 Dec 2026, 18:53 (Asia/Shanghai)'. Text that is not
    a date (a date typed by hand) is shown as written; '' when there is none."""
    if not value:
        return ""
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if when.tzinfo is None:  # the server writes UTC; a naive stamp is read as UTC too
        when = when.replace(tzinfo=dt.timezone.utc)
    try:
        zone: dt.tzinfo = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone, timezone = dt.timezone.utc, "UTC"
    local = when.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({timezone})"


def render_submission(submission: dict[str, Any], timezone: str = "UTC") -> str:
    """A student's submission as HTML: exactly the visible result the JSON API gives them, in the
    reports' style (in English: `tr`, the words of their page shell), with times in the course's
    `timezone`."""
    from nnlab.reports.language import ReportLanguage

    template = _environment(timezone).from_string(_SUBMISSION)
    return template.render(s=submission, r=submission.get("result"), tr=ReportLanguage())

"""HTML pages of the course server, from an autoescaped Jinja2 template (kept here so wheels carry it)."""
from __future__ import annotations

import functools
from typing import Any

import jinja2

_SUBMISSION = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ s.assignment }} submission {{ s.id }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 60rem; }
table { border-collapse: collapse; width: 100%; }
td, th { border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
.passed { color: #176b2c; } .failed, .error, .timeout { color: #a11; } .skipped { color: #666; }
.note { background: #f4f4f4; padding: .5rem .8rem; border-radius: 4px; }
pre { white-space: pre-wrap; margin: .2rem 0; }
.adjusted { border-left: 4px solid #0969da; background: #f1f8ff; padding: .5rem .8rem; margin: .5rem 0; }
.adjusted table { background: #fff; }
.reason { white-space: pre-wrap; }
</style></head>
<body>
{% macro adjustment_table(adjustments) %}
<table><tr><th>change</th><th>check</th><th>reason</th><th>by</th><th>date</th></tr>
{% for a in adjustments %}
<tr><td>{% if "change" not in a %}{{ "set to %g" % a.points if a.kind == "override" else a.points | signed }}
{% else %}{{ a.change | signed }}{% if a.kind == "override" %} (set to {{ a.points | num }}){% endif %}{% endif %}</td>
<td>{% if a.check %}{{ a.check }}{% elif a.get("hidden_check") %}a hidden check{% else %}whole exercise{% endif %}</td>
<td class="reason">{{ a.reason }}</td><td>{{ a.author }}</td><td>{{ a.date }}</td></tr>
{% endfor %}
</table>
{% endmacro %}
<h1>{{ s.assignment }}: {{ s.student }}</h1>
<p>Submission {{ s.id }}, uploaded {{ s.submitted_at }}{% if s.late_days %}, {{ s.late_days }} day(s) late{% endif %}.
Status: <b>{{ s.status }}</b>.</p>
{% if s.get("error") %}<p class="note">{{ s.error }}</p>{% endif %}
{% if r %}
<p><b>Score: {{ r.score | num }} / {{ r.max_score | num }}</b>
{% if r.get('late_penalty') %} (late penalty {{ (r.late_penalty * 100) | round(0) | int }}%: {{ r.raw_score | num }} before it){% endif %}</p>
{% if r.get('hidden_note') %}<p class="note">{{ r.hidden_note }}.</p>{% endif %}
{% for ex in r.exercises %}
<h2>{{ ex.id }}: {{ ex.score | num }} / {{ ex.max_score | num }}</h2>
{% if ex.get("adjustments") %}
<div class="adjusted"><p><b>Adjusted by your instructor</b>: the checks gave {{ ex.original_score | num }};
the score is {{ ex.score | num }} / {{ ex.max_score | num }}.</p>{{ adjustment_table(ex.adjustments) }}</div>
{% elif ex.get("full_score_adjustments") %}
<div class="adjusted"><p><b>Adjusted by your instructor</b>: these change your score on the whole exercise,
hidden checks included, which is not shown yet; the score above is on the checks shown.</p>
{{ adjustment_table(ex.full_score_adjustments) }}</div>
{% endif %}
{% if not ex.submitted %}<p>not submitted</p>{% else %}
{% if ex.note %}<p class="note">{{ ex.note }}</p>{% endif %}
<table><tr><th>check</th><th>outcome</th><th>points</th></tr>
{% for c in ex.checks %}
<tr><td>{{ c.name }}{% if c.visibility == "hidden" %} (hidden){% endif %}
{% if c.outcome != "passed" and c.message %}<pre>{{ c.message }}</pre>{% endif %}</td>
<td class="{{ c.outcome }}">{{ c.outcome }}</td><td>{{ c.score | num }} / {{ c.max_score | num }}</td></tr>
{% endfor %}
</table>
{% if ex.get('hidden_checks') %}<p>{{ ex.hidden_checks }} hidden check(s) not shown yet.</p>{% endif %}
{% endif %}
{% endfor %}
{% endif %}
</body></html>
"""


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # Autoescape: student ids, file names and check messages all come from outside.
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = lambda value: f"{float(value):g}"
    env.filters["signed"] = lambda value: f"{float(value):+g}"
    return env


def render_submission(submission: dict[str, Any]) -> str:
    """A student's submission as HTML: exactly the visible result the JSON API gives them."""
    template = _environment().from_string(_SUBMISSION)
    return template.render(s=submission, r=submission.get("result"))

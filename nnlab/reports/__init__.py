"""Score reports: pandas summaries, JSON/CSV exports and offline HTML reports (never imports torch)."""
from __future__ import annotations

from nnlab.reports.canvas import write_canvas_csv
from nnlab.reports.classview import ExtraSection, LatePenalty
from nnlab.reports.export import write_results_json, write_scores_csv
from nnlab.reports.render import (
    render_class_report,
    render_student_report,
    write_class_report,
    write_student_report,
)
from nnlab.reports.summaries import (
    check_pass_rates,
    check_records,
    exercise_ids_in,
    exercise_stats,
    ranked_checks,
    score_table,
    student_label,
    submitted_table,
)

__all__ = [
    "ExtraSection",
    "LatePenalty",
    "check_pass_rates",
    "check_records",
    "exercise_ids_in",
    "exercise_stats",
    "ranked_checks",
    "render_class_report",
    "render_student_report",
    "score_table",
    "student_label",
    "submitted_table",
    "write_canvas_csv",
    "write_class_report",
    "write_results_json",
    "write_scores_csv",
    "write_student_report",
]

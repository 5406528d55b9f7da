"""`nnlab submit` to a course server, and in a student kit, in English and Chinese: lines of nnlab.i18n.MESSAGES."""
from __future__ import annotations

# Kept apart from nnlab.i18n only for length; nnlab.i18n.MESSAGES holds these too, and
# message() reads them. English keeps "(s)" where the count is not known in advance, as before.
COURSE_MESSAGES: dict[str, dict[str, str]] = {
    "upload.done": {"en": "Uploaded {files} to {assignment}: submission {id}{late}{left}.",
                    "zh": "已将 {files} 上传到 {assignment}：提交 {id}{late}{left}。"},
    "upload.late": {"en": ", {count} day(s) late", "zh": "，迟交 {count} 天"},
    "upload.left": {"en": ", {count} attempt(s) left this hour", "zh": "，本小时还可提交 {count} 次"},
    "upload.background": {"en": "Graded in the background: `nnlab status --assignment {assignment}`.",
                          "zh": "正在后台评分：用 `nnlab status --assignment {assignment}` 查看。"},
    "upload.stopped": {"en": "\nStopped waiting; submission {id} is accepted and will be graded: "
                             "`nnlab status --assignment {assignment}`.",
                       "zh": "\n已停止等待；提交 {id} 已被接收，会照常评分：用 "
                             "`nnlab status --assignment {assignment}` 查看。"},
    "upload.queued_ahead": {"en": "queued, {ahead} ahead", "zh": "排队中，前面还有 {ahead} 个"},
    "upload.status.queued": {"en": "queued", "zh": "排队中"},
    "upload.status.running": {"en": "running", "zh": "评分中"},
    "upload.hidden_waiting": {"en": "  + {count} hidden check(s), not shown yet\n",
                              "zh": "  + {count} 项隐藏检查，暂不显示结果\n"},
    "upload.score": {"en": "Score{scope}: {score:g}/{max_score:g}{penalty}",
                     "zh": "总分{scope}：{score:g}/{max_score:g}{penalty}"},
    "upload.score_scope": {"en": " on the checks shown", "zh": "（仅计已显示的检查）"},
    "upload.penalty": {"en": "  ({days} day(s) late: -{percent}; {raw:g} before the penalty)",
                       "zh": "（迟交 {days} 天：扣除 {percent}；扣分前为 {raw:g}）"},
    "upload.hidden_never": {"en": "{count} hidden check(s) count toward your grade; their results are not shown",
                            "zh": "{count} 项隐藏检查计入成绩，其结果不会显示"},
    "upload.hidden_after_due": {"en": "{count} hidden check(s) count toward your grade; their results are "
                                      "shown after the deadline",
                                "zh": "{count} 项隐藏检查计入成绩，其结果在截止时间之后显示"},
    "upload.sentence": {"en": "{text}.", "zh": "{text}。"},
    "upload.adjusted": {"en": "  Adjusted by your instructor: the checks gave {original:g}, "
                              "the score is {score:g}/{max_score:g}",
                        "zh": "  教师调整了分数：检查得分为 {original:g}，现为 {score:g}/{max_score:g}"},
    "upload.adjusted_whole": {"en": "  Adjusted by your instructor (on the whole exercise, hidden checks included):",
                              "zh": "  教师调整了分数（针对整道练习，包括隐藏检查）："},
    "upload.target_hidden": {"en": "a hidden check", "zh": "一项隐藏检查"},
    "upload.target_exercise": {"en": "the exercise", "zh": "整道练习"},
    "upload.set_to": {"en": "set to {points:g}", "zh": "设为 {points:g}"},
    "upload.set_to_after": {"en": " (set to {points:g})", "zh": "（设为 {points:g}）"},
    "upload.adjustment": {"en": "    {change} on {target}: {reason} ({author}, {date})",
                          "zh": "    {target} {change}：{reason}（{author}，{date}）"},
    "upload.status.error": {"en": "error", "zh": "评分出错"},
    "status.closed": {"en": "closed", "zh": "已关闭"},
    "status.open": {"en": "open", "zh": "开放中"},
    "status.late": {"en": "late ({count} day(s))", "zh": "已过截止时间（迟交 {count} 天）"},
    "status.header": {"en": "{id}: {title}", "zh": "{id}：{title}"},
    "status.due": {"en": "  due {due} {offset}, accepted until {until}; exercises {exercises}",
                   "zh": "  截止 {due} {offset}，{until} 前仍接收提交；练习：{exercises}"},
    "status.none": {"en": "  no submissions yet", "zh": "  尚无提交"},
    "status.counts": {"en": "  <- counts", "zh": "  <- 计入成绩"},
    "status.counts_last": {"en": "your last graded upload counts (each upload replaces the whole submission)",
                           "zh": "计入成绩的是你最后一次已评分的提交（每次提交都会替换整份作业）"},
    "status.counts_best": {"en": "your best graded upload counts (its score after your instructor's "
                                 "adjustments and any late penalty)",
                           "zh": "计入成绩的是你得分最高的已评分提交（按教师调整和迟交扣分之后的分数）"},
    "status.counts_best_unknown": {"en": "your best upload on all checks counts; the hidden checks are not shown "
                                         "yet, so neither is which upload that is",
                                   "zh": "计入成绩的是全部检查得分最高的提交；隐藏检查的结果尚未显示，"
                                         "所以暂时无法告诉你是哪一次"},
    "kit.seed": {"en": "Seed {seed}.", "zh": "随机种子 {seed}。"},
    "kit.note": {"en": "Student kit: only the public checks ran here, {score:g}/{max_score:g} of the {worth:g} "
                       "points these exercises are worth; the hidden checks run on the course server. Nothing "
                       "was uploaded: `nnlab submit PATH --assignment ID` hands in.",
                 "zh": "学生套件：本机只运行了公开检查，得分 {score:g}/{max_score:g}（这些练习共 {worth:g} 分）；"
                       "隐藏检查在课程服务器上运行。没有上传任何文件：用 `nnlab submit PATH --assignment ID` 提交。"},
}

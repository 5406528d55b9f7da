"""The one API exercise check files import: inputs, comparisons that teach, the worker, timing."""
from __future__ import annotations

from nnlab.errors import StudentCodeError
from nnlab.grader.checks.asserts import (TOLERANCES, CheckFailed, assert_close, assert_equal,
                                         assert_tensor, expect_raises, noncontig, randint, randn)
from nnlab.grader.checks.context import CheckBoard, GradingContext, is_timing_check, timing
from nnlab.grader.checks.meta import (AUDIT_SETTING, AuditedRemote, assert_detached,
                                      assert_not_view_of_input, assert_same_tensor_returned,
                                      audited, audited_call, meta_of)
from nnlab.grader.checks.remote import (buffers_of, call_returning_args, evaluate, gradcheck_remote,
                                        load_reference_state, parameters_of, remote_function,
                                        repr_of, state_dict_of, use_one_thread_in_worker, vjp)
from nnlab.check_api import CHECK_API  # noqa: F401 - the check API's version (MAJOR.MINOR), for course.toml check_api
from nnlab.grader.session import Remote
from nnlab.wire.codec import NonContiguous, RequiresGrad

# Last: the timing package builds on the assertions above (see nnlab/grader/timing/__init__.py).
from nnlab.grader.timing.api import Timed, TimingRequest, assert_fast  # isort: skip
from nnlab.grader.timing.inputs import TimedInput, binary, integers, normal

__all__ = [
    # what a check knows, and how it is marked
    "GradingContext", "CheckBoard", "timing", "is_timing_check",
    # inputs and verdicts
    "CheckFailed", "StudentCodeError", "TOLERANCES", "randn", "randint", "noncontig", "assert_tensor", "assert_close",
    "assert_equal", "expect_raises", "NonContiguous", "RequiresGrad",
    # what a returned tensor was in the worker, and what a call did to its inputs
    "assert_detached", "assert_not_view_of_input", "assert_same_tensor_returned", "meta_of",
    "audited_call", "audited", "AuditedRemote", "AUDIT_SETTING",
    # the submission's objects in the worker
    "Remote", "evaluate", "call_returning_args", "use_one_thread_in_worker", "vjp", "remote_function",
    "gradcheck_remote", "parameters_of", "buffers_of", "state_dict_of", "load_reference_state",
    "repr_of",
    # timing
    "Timed", "TimingRequest", "TimedInput", "assert_fast", "normal", "integers", "binary",
]

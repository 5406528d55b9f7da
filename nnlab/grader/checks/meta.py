"""Verdicts on what a returned tensor was in the worker, and on what a call did to its inputs."""
from __future__ import annotations

from typing import Any, Sequence

from nnlab.grader.checks.asserts import CheckFailed, assert_tensor
from nnlab.grader.session import Remote, handle_of, remote_label, remote_session
from nnlab.i18n import failure
from nnlab.wire.codec import TensorMeta, tensor_meta


def meta_of(got: Any, what: str) -> TensorMeta:
    """The worker's TensorMeta of `got`, a tensor exactly as a call into the worker returned it.

    A tensor made or copied in the grader has none: that is the check's mistake, not the
    student's, so it is an internal error rather than a verdict.
    """
    tensor = assert_tensor(got, what)
    meta = tensor_meta(tensor)
    if meta is None:
        raise TypeError(f"{what}: this tensor did not come from the worker as it is (a copy?); "
                        "pass the result of the call itself")
    return meta


def assert_detached(got: Any, what: str) -> None:
    """Fails unless `got` came back detached: no requires_grad, no grad_fn."""
    meta = meta_of(got, what)
    if meta.has_grad_fn:
        raise CheckFailed(failure("detached_graph", what=what))
    if meta.requires_grad:
        raise CheckFailed(failure("detached_requires_grad", what=what))


def assert_not_view_of_input(got: Any, what: str) -> None:
    """Fails when `got` shares memory with an input of the call (is it, or a view of it)."""
    meta = meta_of(got, what)
    if meta.is_input is not None:
        raise CheckFailed(failure("input_returned", what=what, input=meta.is_input))
    if meta.shares_storage_with is not None:
        raise CheckFailed(failure("view_of_input", what=what, input=meta.shares_storage_with))


def assert_same_tensor_returned(got: Any, what: str, argument: str | None = None) -> None:
    """Fails unless `got` is the very tensor object the call received (as `argument`, if named):
    what an in-place API that promises to return its input must do."""
    meta = meta_of(got, what)
    if meta.is_input is not None and (argument is None or meta.is_input == argument):
        return
    named = "_named" if argument is not None else ""
    if meta.is_input is not None:  # another input came back: only possible with `argument` named
        raise CheckFailed(failure("same_other_input", what=what, argument=argument, other=meta.is_input))
    if meta.shares_storage_with is not None:
        raise CheckFailed(failure(f"same_view{named}", what=what, argument=argument,
                                  base=meta.shares_storage_with))
    raise CheckFailed(failure(f"same_new{named}", what=what, argument=argument))


def audited_call(target: Remote, args: Sequence[Any], kwargs: dict[str, Any] | None = None,
                 names: Sequence[str] = ()) -> Any:
    """Calls `target(*args, **kwargs)` in the worker and fails if the call changed what the
    caller owns: any input tensor's values, requires_grad, .grad or hooks, and the parameters,
    buffers and hooks of any module passed in. `names` names the positional arguments in
    messages ("x" rather than "argument 1"). Returns the call's result."""
    result, changes = remote_session(target).audited_call(target, tuple(args), dict(kwargs or {}),
                                                          tuple(names))
    if changes:
        listed = "; ".join(f"`{label}`: {change}" for label, change in changes[:4])
        more = f" (and {len(changes) - 4} more)" if len(changes) > 4 else ""
        raise CheckFailed(failure("inputs_changed", call=remote_label(target), changes=listed + more))
    return result


AUDIT_SETTING = "AUDIT_INPUTS"
"""A check file that sets this module-level name to True gets an auditing `sub` in every
check: each call through it (and through what it returns) is an `audited_call`."""


class AuditedRemote(Remote):
    """A Remote whose every call is audited: the caller's tensors and modules must come out
    of it as they went in. Attributes it reads and objects calls return are audited too, so
    `sub.Model(...)(x)` and `sub.fn(x)` both are."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return audited(Remote.__getattr__(self, name))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = audited_call(self, args, kwargs)
        if isinstance(result, Remote):
            # Named as a plain call names it ("Model(3, 4)"), not by the request ("running ...").
            label = remote_label(result).removeprefix("running ")
            return AuditedRemote(remote_session(result), handle_of(result), label)
        return result


def audited(value: Any) -> Any:
    """`value` with every later call through it audited, when it is a worker object."""
    if isinstance(value, Remote) and not isinstance(value, AuditedRemote):
        return AuditedRemote(remote_session(value), handle_of(value), remote_label(value))
    return value

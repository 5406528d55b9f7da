"""Working with the submission's objects in the worker: calls, expressions, gradients."""
from __future__ import annotations

import hashlib
from typing import Any, Callable, Sequence

import torch
from torch.autograd.gradcheck import GradcheckError

from nnlab.grader.checks.asserts import CheckFailed, assert_tensor
from nnlab.grader.session import Remote, remote_label, remote_session
from nnlab.wire.codec import RequiresGrad


def evaluate(anchor: Remote, expression: str, label: str, **bindings: Any) -> Any:
    """The value of a Python expression evaluated in the worker that holds `anchor`.

    `expression` is a constant written in the check file: every value it needs comes in
    through `bindings` (tensors, plain data, and worker objects, which arrive as
    themselves), never pasted into the text. It sees `torch`, `nn`, `F`, `math`, and
    `submission` (the student's module). A worker object comes back as a Remote labelled
    `label`, which also names the step in any error ("preparing <label>").
    """
    return remote_session(anchor).eval(expression, label=label, **bindings)


def call_returning_args(target: Remote, args: Sequence[Any],
                        kwargs: dict[str, Any] | None = None) -> tuple[Any, list[Any]]:
    """Calls `target(*args, **kwargs)` in the worker; (its result, its arguments after the
    call), to tell whether the call changed an input in place."""
    return remote_session(target).call_returning_args(target, tuple(args), dict(kwargs or {}))


def use_one_thread_in_worker(anchor: Remote) -> None:
    """One torch thread in this check's worker.

    For checks that make many tiny calls: on a busy machine each OpenMP wake-up in a tiny
    operation can cost tens of milliseconds.
    """
    evaluate(anchor, "torch.set_num_threads(1)", "a single-threaded worker")


def _tensor_grads(grads: Any, n: int, what: str) -> list[torch.Tensor | None]:
    if not isinstance(grads, list) or len(grads) != n:
        raise CheckFailed(f"{what}: gradients did not come back")
    for g in grads:
        if g is not None and type(g) is not torch.Tensor:
            raise CheckFailed(f"{what}: a gradient came back as {type(g).__name__}")
    return grads


def vjp(target: Remote, inputs: Sequence[torch.Tensor], grad_outputs: Sequence[torch.Tensor | None],
        module: Remote | None = None, extra_args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None) -> tuple[Any, list[torch.Tensor | None], dict[str, Any]]:
    """Runs forward and backward in the worker: (output, input grads, parameter grads)."""
    session = remote_session(target)
    reply = session.vjp(target, tuple(RequiresGrad(x.detach()) for x in inputs) + tuple(extra_args),
                        list(grad_outputs), kwargs=kwargs, module=module)
    what = f"backward of {remote_label(target)}"
    grads = _tensor_grads(reply.input_grads, len(inputs), what)
    return reply.output, grads, reply.param_grads


def remote_function(target: Remote, module: Remote | None = None,
                    kwargs: dict[str, Any] | None = None) -> Callable[..., torch.Tensor]:
    """A local differentiable function whose forward and backward run in the worker.

    Used with torch.autograd.gradcheck in the grader: the numbers are the student's, the
    judging is ours.
    """
    what = remote_label(target)

    class _Bridge(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, *inputs: torch.Tensor) -> torch.Tensor:
            ctx.save_for_backward(*inputs)
            out = target(*[x.detach() for x in inputs], **(kwargs or {}))
            return assert_tensor(out, f"output of {what}").to(inputs[0].device)

        @staticmethod
        def backward(ctx: Any, grad_output: torch.Tensor) -> Any:
            inputs = ctx.saved_tensors
            _, grads, _ = vjp(target, inputs, [grad_output], module=module, kwargs=kwargs)
            return tuple(grads)

    def apply(*inputs: torch.Tensor) -> torch.Tensor:
        # torch leaves Function.apply untyped, and untyped_calls_exclude misses it on a subclass.
        result: torch.Tensor = _Bridge.apply(*inputs)  # type: ignore[no-untyped-call]
        return result

    return apply


# The secret factors lie in [1/4, 1]: at most 1, so a Jacobian element within atol of the
# truth stays within atol once scaled (the tolerances keep their meaning for a right answer);
# at least 1/4, so no direction is squashed into the tolerance.
_FACTOR_LOW, _FACTOR_HIGH = 0.25, 1.0


def _private_generator(what: str) -> torch.Generator:
    """A generator seeded from the check's own torch random state, which it leaves untouched.

    The runner seeds torch's global generator with the check's secret seed. Hashing its state,
    rather than drawing from it, keeps every later draw of the check as it was.
    """
    state = torch.get_rng_state().numpy().tobytes()
    digest = hashlib.sha256(b"nnlab gradcheck:" + what.encode() + b":" + state).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)


def _factors(shape: torch.Size, generator: torch.Generator) -> torch.Tensor:
    drawn = torch.rand(shape, generator=generator, dtype=torch.float64)
    return drawn.mul_(_FACTOR_HIGH - _FACTOR_LOW).add_(_FACTOR_LOW)


def _secretly_scaled(fn: Callable[..., torch.Tensor], leaves: Sequence[torch.Tensor],
                     generator: torch.Generator) -> Callable[..., torch.Tensor]:
    """g(y) = a * fn(x + b * (y - x)), with secret positive factors a (per output element)
    and b (per input element), for gradcheck at y = x.

    Fast mode checks v^T J u with u, v from a generator of torch's own with its fixed default
    seed: anyone can compute them, and a backward right only along them would pass. For g,
    gradcheck checks (a*v)^T J (b*u): projections the student cannot know. At y = x, fn runs
    on x itself, bit for bit (x + b * 0), the points a plain gradcheck would probe.
    """
    # Copies: gradcheck perturbs its leaves in place.
    origins = [x.detach().clone() for x in leaves]
    slopes = [_factors(x.shape, generator) for x in leaves]
    drawn: list[torch.Tensor] = []  # a, drawn at the first call, once the output's shape is known

    def scaled(*ys: torch.Tensor) -> torch.Tensor:
        out = fn(*(x + b * (y - x) for x, b, y in zip(origins, slopes, ys)))
        if not drawn:
            drawn.append(_factors(out.shape, generator))
        a = drawn[0]
        if out.shape != a.shape or not (out.is_floating_point() or out.is_complex()):
            return out  # gradcheck itself names an output whose shape or dtype changed
        return out * a.to(out.dtype)

    return scaled


def gradcheck_remote(target: Remote, inputs: Sequence[torch.Tensor], what: str,
                     module: Remote | None = None, kwargs: dict[str, Any] | None = None,
                     atol: float = 1e-6, rtol: float = 1e-4, fast_mode: bool = True) -> None:
    """torch.autograd.gradcheck (float64) on the student's forward and backward.

    Each probe is a round trip to the worker. `fast_mode` (the default) compares random
    projections v^T J u: a few calls instead of two per input element, and a wrong gradient
    still fails (the full Jacobians are then computed for the message). The projections are
    secret: each side is scaled element-wise by positive factors drawn from the check's seed
    (see _secretly_scaled). `fast_mode=False` probes every element: for a forward that may be
    random on a few elements (a dropout left on), which a few calls can miss.

    Only the inputs are leaves of the check: a module's parameters stay in the worker and
    their gradients are not compared here, so they need no factors.
    """
    fn = remote_function(target, module=module, kwargs=kwargs)
    leaves = tuple(x.detach().double().requires_grad_(True) for x in inputs)
    if fast_mode:
        fn = _secretly_scaled(fn, leaves, _private_generator(what))
    try:
        # Fast mode draws its projections from a generator of its own, and the factors come
        # from another: what the check draws afterwards is the same in either mode.
        torch.autograd.gradcheck(fn, leaves, eps=1e-6, atol=atol, rtol=rtol, raise_exception=True,
                                 fast_mode=fast_mode)
    except GradcheckError as error:
        first = str(error).strip().splitlines()[0]
        raise CheckFailed(f"{what}: gradcheck failed: {first}") from None
    except RuntimeError as error:  # e.g. a gradient of the wrong shape
        raise CheckFailed(f"{what}: gradcheck failed: {str(error).splitlines()[0]}") from None


def parameters_of(module: Remote) -> dict[str, torch.Tensor]:
    """The named parameters of a worker module, as plain tensors."""
    return remote_session(module).tensors(module, "parameters")


def buffers_of(module: Remote) -> dict[str, torch.Tensor]:
    """The named buffers of a worker module, as plain tensors."""
    return remote_session(module).tensors(module, "buffers")


def state_dict_of(module: Remote) -> dict[str, torch.Tensor]:
    """The module's own state_dict() (so its overrides run), checked to be a mapping."""
    value = module.state_dict()
    if not isinstance(value, dict):
        raise CheckFailed(f"state_dict() of {remote_label(module)} did not return a mapping")
    return value


def load_reference_state(module: Remote, reference: torch.nn.Module) -> None:
    """Gives the student's module the reference's exact parameters and buffers."""
    module.load_state_dict({k: v.detach().clone() for k, v in reference.state_dict().items()})


def repr_of(obj: Remote) -> str:
    """repr() of a worker object, run in the worker (capped in length)."""
    return remote_session(obj).repr(obj)

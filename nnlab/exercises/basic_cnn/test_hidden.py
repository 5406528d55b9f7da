"""Hidden checks for basic_cnn: the whole contract of its statement."""
from __future__ import annotations

import copy

import torch
from torch import nn

from nnlab.grader.checks import (CheckFailed, Remote, assert_close, assert_equal, assert_tensor,
                                 buffers_of, evaluate, load_reference_state, noncontig,
                                 parameters_of, randn, vjp)

FEATURES = ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"] * 2 + ["Conv2d", "BatchNorm2d", "ReLU"]
CLASSIFIER = ["Linear", "ReLU", "Dropout", "Linear"]
KINDS = ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Linear", "Dropout"]
BN_LAYERS = ("features.1", "features.5", "features.9")


class Reference(nn.Module):
    """The grader's BasicCNN, written with torch.nn."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU())
        self.classifier = nn.Sequential(nn.Linear(128 * 8 * 8, 256), nn.ReLU(), nn.Dropout(0.5),
                                        nn.Linear(256, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


def _reference(in_channels: int = 3, num_classes: int = 10) -> Reference:
    """A reference whose BatchNorm layers are away from their defaults (so eval mode tells)."""
    ref = Reference(in_channels, num_classes)
    with torch.no_grad():
        for m in ref.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.3)
                m.running_mean.normal_(0.0, 0.3)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(4)
    return ref


def _keys_and_shapes(module: Remote) -> list:
    # Names and shapes only, without the 2.2M parameter values.
    return evaluate(
        module,
        "[(k, list(v.shape) if isinstance(v, torch.Tensor) else None) for k, v in m.state_dict().items()]",
        label="the state_dict keys", m=module)


def _load(module: Remote, reference: nn.Module, what: str) -> None:
    """Loads the reference's state after checking key names and shapes, with a clear message."""
    got = dict(tuple(item) for item in _keys_and_shapes(module))
    want = reference.state_dict()
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    if missing or extra:
        raise CheckFailed(f"state_dict keys of {what}: missing {missing[:6]}"
                          f"{' ...' if len(missing) > 6 else ''}, unexpected {extra[:6]}"
                          f"{' ...' if len(extra) > 6 else ''}")
    for key, value in want.items():
        if got[key] != list(value.shape):
            raise CheckFailed(f"state_dict entry '{key}' of {what}: expected shape "
                              f"{tuple(value.shape)}, got {got[key] and tuple(got[key])}")
    load_reference_state(module, reference)


# The kind of each layer of an nn.Sequential attribute (None: not an nn.Sequential).
_LAYOUT = ("None if not isinstance(getattr(m, attribute, None), nn.Sequential) else "
           "[next((n for n in kinds if isinstance(layer, getattr(nn, n))), type(layer).__name__) "
           "for layer in getattr(m, attribute)]")


def _layout(model: Remote, attribute: str) -> list | None:
    return evaluate(model, _LAYOUT, label=f"the layout of {attribute}", m=model, kinds=KINDS,
                    attribute=attribute)


def _expected(reference: nn.Module, x: torch.Tensor, train: bool, part: str = "") -> torch.Tensor:
    """The reference output in float64 from pristine copies (classifier always in eval mode)."""
    ref = copy.deepcopy(reference).double().train(train)
    ref.classifier.eval()
    with torch.no_grad():
        out = (ref.features if part == "features" else ref)(x.double())
    return out.to(x.dtype)


def _atol(expected: torch.Tensor, rel: float = 1e-5) -> float:
    # float32 rounding through 3 convolutions and an 8192-wide Linear scales with the activations.
    return rel * max(1.0, float(expected.abs().max()))


def test_structure(sub):
    """Are `features` and `classifier` the specified Sequentials, with Dropout(0.5) and the right keys?"""
    for args in [(), (1, 7)]:
        what = f"BasicCNN{args if args else '()'}"
        model = sub.BasicCNN(*args)
        for attribute, layout in (("features", FEATURES), ("classifier", CLASSIFIER)):
            got = _layout(model, attribute)
            if got is None:
                raise CheckFailed(f"{what}: `self.{attribute}` should be an nn.Sequential")
            assert_equal(got, layout, f"the layers of {what}.{attribute}, in order")
        p = evaluate(model, "m.classifier[2].p", label="classifier[2].p", m=model)
        assert_equal(p, 0.5, f"the dropout probability in {what}.classifier")
        reference = Reference(*args)
        _load(model, reference, what)
        if args:
            params = parameters_of(model)
            count = sum(v.numel() for v in params.values() if type(v) is torch.Tensor)
            assert_equal(count, sum(p.numel() for p in reference.parameters()),
                         f"number of parameters of {what}")


def test_features(sub):
    """Does `features` map (N, C, 32, 32) to the reference's (N, 128, 8, 8) maps?"""
    reference = _reference(2, 10)
    model = sub.BasicCNN(2, 10)
    _load(model, reference, "BasicCNN(2, 10)")
    model.eval()
    x = randn(3, 2, 32, 32)
    expected = _expected(reference, x, train=False, part="features")
    assert_close(model.features(x), expected, "BasicCNN(2, 10).features in eval mode on (3, 2, 32, 32)",
                 family="normal batch", atol=_atol(expected))


def test_eval_parity(sub):
    """In eval mode, do the logits match the reference: defaults, 1 channel, 7 classes, 1 sample?"""
    cases = [("defaults", (), (2, 3, 32, 32), 1.0), ("grayscale, 7 classes", (1, 7), (3, 1, 32, 32), 1.0),
             ("one sample", (3, 4), (1, 3, 32, 32), 1.0), ("large magnitudes", (1, 5), (2, 1, 32, 32), 1e3)]
    for family, args, shape, scale in cases:
        what = f"BasicCNN{args if args else '()'}"
        reference = _reference(*args)
        model = sub.BasicCNN(*args)
        _load(model, reference, what)
        model.eval()
        x = randn(*shape, scale=scale)
        expected = _expected(reference, x, train=False)
        assert_close(model(x), expected, f"{what} in eval mode on {shape}", family=family,
                     atol=_atol(expected))
        if family == "defaults":
            # Not channels_last: the statement allows x.view(x.size(0), -1) after the
            # convolutions, which keep a channels_last input's layout.
            assert_close(model(noncontig(x, channels_last=False)), expected, f"{what} in eval mode on {shape}",
                         family="non-contiguous", atol=_atol(expected))


def test_train_parity(sub):
    """In training mode, do BatchNorm batch statistics and running statistics match the reference?"""
    # The classifier is put back in eval mode so that dropout does not make the logits random.
    reference = _reference(3, 6)
    model = sub.BasicCNN(3, 6)
    _load(model, reference, "BasicCNN(3, 6)")
    model.train()
    model.classifier.eval()
    ref = copy.deepcopy(reference).double().train()
    ref.classifier.eval()
    for step, batch in enumerate((3, 2)):
        x = randn(batch, 3, 32, 32) * 1.5 + 0.5
        with torch.no_grad():
            expected = ref(x.double()).float()
        assert_close(model(x), expected, f"BasicCNN(3, 6) in training mode (forward {step + 1})",
                     family="batch statistics", atol=_atol(expected))
    got = buffers_of(model)
    want = ref.state_dict()
    for layer in BN_LAYERS:
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            key = f"{layer}.{name}"
            if key not in got:
                raise CheckFailed(f"buffer '{key}' is missing from BasicCNN(3, 6)")
            expected = want[key] if name == "num_batches_tracked" else want[key].float()
            assert_close(got[key], expected, f"{key} after 2 training-mode forwards",
                         family="batch statistics", atol=_atol(expected))


def test_dropout(sub):
    """In training mode, does Dropout(0.5) zero about half the hidden units and double the others?"""
    # With classifier.0 = (weight 0, bias 1) every hidden unit is relu(1) = 1 whatever the image,
    # and classifier.3 = identity rows: logit k is hidden unit k after dropout, i.e. 0 or 2.
    classes, batch = 40, 64
    reference = Reference(1, classes)
    with torch.no_grad():
        reference.classifier[0].weight.zero_()
        reference.classifier[0].bias.fill_(1.0)
        reference.classifier[3].weight.copy_(torch.eye(classes, 256))
        reference.classifier[3].bias.zero_()
    model = sub.BasicCNN(1, classes)
    _load(model, reference, f"BasicCNN(1, {classes})")
    x = randn(batch, 1, 32, 32)
    got = assert_tensor(model.eval()(x), f"BasicCNN(1, {classes}) in eval mode", shape=(batch, classes))
    assert_close(got, torch.ones(batch, classes), "logits in eval mode with every hidden unit at 1",
                 family="dropout must be the identity in eval mode")
    got = assert_tensor(model.train()(x), f"BasicCNN(1, {classes}) in training mode",
                        shape=(batch, classes)).double()
    zero, two = (got.abs() < 1e-5), ((got - 2).abs() < 1e-5)
    if not bool((zero | two).all()):
        odd = got[~(zero | two)][0].item()
        raise CheckFailed("with every hidden unit at 1, training-mode logits should be 0 (dropped) or 2 "
                          f"(kept and scaled by 1/(1-0.5)); got a value {odd:.6g}")
    kept = two.double().mean().item()
    if not 0.42 <= kept <= 0.58:
        raise CheckFailed(f"dropout kept {kept:.1%} of the hidden units over {got.numel()} draws; "
                          "p=0.5 should keep about 50%")


def test_gradients(sub):
    """Do the input gradient and every parameter gradient match the reference's (float64)?"""
    reference = _reference(1, 4).double()
    model = sub.BasicCNN(1, 4).double()
    _load(model, reference, "BasicCNN(1, 4)")
    ref = copy.deepcopy(reference)
    for train in (True, False):
        mode = "training" if train else "eval"
        model.train(train)
        model.classifier.eval()
        ref.train(train)
        ref.classifier.eval()
        ref.zero_grad(set_to_none=True)
        x = randn(2, 1, 32, 32, dtype=torch.float64)
        grad_out = randn(2, 4, dtype=torch.float64)
        _, grads, param_grads = vjp(model, [x], [grad_out], module=model)
        x_ref = x.clone().requires_grad_(True)
        ref(x_ref).backward(grad_out)
        assert_close(grads[0], x_ref.grad, f"gradient with respect to the input ({mode} mode)")
        for name, param in ref.named_parameters():
            got = param_grads.get(name)
            if got is None:
                raise CheckFailed(f"no gradient reached `{name}` in {mode} mode: is it used in forward?")
            assert_close(got, param.grad, f"gradient of {name} ({mode} mode)")

"""Hidden checks for resnet_block: the whole contract of its statement (timing is separate)."""
from __future__ import annotations

import copy
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from nnlab.grader.checks import (CheckFailed, Remote, assert_close, assert_equal, assert_tensor,
                                 buffers_of, audited_call, evaluate, gradcheck_remote,
                                 load_reference_state, noncontig, parameters_of, randn, vjp)

from .test_public import Block

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True

RESNET18_PARAMETERS = 11_186_442


class Net(nn.Module):
    """The grader's ResNet, written with torch.nn."""

    def __init__(self, layers: Sequence[int], num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        channels, stages = 64, []
        for i, (width, count) in enumerate(zip((64, 128, 256, 512), layers)):
            stride = 1 if i == 0 else 2
            blocks = [Block(channels, width, stride)] + [Block(width, width) for _ in range(1, count)]
            stages.append(nn.Sequential(*blocks))
            channels = width
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _randomize_bn(model: nn.Module) -> nn.Module:
    """Moves every BatchNorm away from its defaults, so eval mode tests the real statistics."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.3)
                m.running_mean.normal_(0.0, 0.3)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(5)
    return model


def _keys_and_shapes(module: Remote) -> list:
    # Names and shapes only (no tensor data): cheap even for resnet18.
    return evaluate(
        module,
        "[(k, list(v.shape) if isinstance(v, torch.Tensor) else None) for k, v in m.state_dict().items()]",
        label="the state_dict keys", m=module)


def _check_keys(module: Remote, reference: nn.Module, what: str) -> None:
    """Fails with the missing / unexpected state_dict keys or the first wrong shape."""
    got = {}
    for item in _keys_and_shapes(module):
        key, shape = item
        got[key] = shape
    want = reference.state_dict()
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    if missing or extra:
        raise CheckFailed(f"state_dict keys of {what}: missing {missing[:8]}"
                          f"{' ...' if len(missing) > 8 else ''}, unexpected {extra[:8]}"
                          f"{' ...' if len(extra) > 8 else ''}")
    for key, value in want.items():
        if got[key] != list(value.shape):
            raise CheckFailed(f"state_dict entry '{key}' of {what}: expected shape "
                              f"{tuple(value.shape)}, got {got[key] and tuple(got[key])}")


def _load(module: Remote, reference: nn.Module, what: str) -> None:
    """Loads the reference's state after checking key names and shapes, with a clear message."""
    _check_keys(module, reference, what)
    load_reference_state(module, reference)


def _expected(reference: nn.Module, x: torch.Tensor, train: bool) -> torch.Tensor:
    """The reference output in float64 from pristine copies, cast to x's dtype."""
    ref = copy.deepcopy(reference).double().train(train)
    with torch.no_grad():
        return ref(x.double()).to(x.dtype)


def _scaled_atol(expected: torch.Tensor, rel: float = 1e-4) -> float:
    # float32 rounding through several convolutions scales with the activations, not with
    # each output element.
    return rel * max(1.0, float(expected.abs().max()))


def _resnet(sub: Remote, layers: list[int], num_classes: int) -> Remote:
    # The student's ResNet built with the student's BasicBlock, inside the worker.
    return evaluate(sub, "submission.ResNet(submission.BasicBlock, layers, num_classes=num_classes)",
                    label=f"ResNet(BasicBlock, {layers}, num_classes={num_classes})", layers=list(layers),
                    num_classes=num_classes)


def _shortcut(block: Remote) -> object:
    return evaluate(
        block,
        "None if not isinstance(getattr(b, 'shortcut', None), nn.Sequential) else len(b.shortcut)",
        label="the shortcut", b=block)


def test_block_structure(sub):
    """Are conv1, bn1, conv2, bn2 and the shortcut (empty or 1x1 conv + BN) laid out as specified?"""
    cases = [(4, 4, 1, 0), (4, 6, 1, 2), (4, 4, 2, 2), (3, 5, 2, 2)]
    for cin, cout, stride, shortcut_len in cases:
        what = f"BasicBlock({cin}, {cout}, stride={stride})"
        block = sub.BasicBlock(cin, cout, stride=stride)
        length = _shortcut(block)
        if length is None:
            raise CheckFailed(f"{what}: `shortcut` should be an nn.Sequential")
        assert_equal(length, shortcut_len, f"number of layers in {what}.shortcut")
        reference = Block(cin, cout, stride)
        _load(block, reference, what)
        count = sum(v.numel() for v in parameters_of(block).values() if type(v) is torch.Tensor)
        assert_equal(count, sum(p.numel() for p in reference.parameters()),
                     f"number of parameters of {what}")
    default = sub.BasicBlock(5, 5)
    assert_equal(_shortcut(default), 0, "number of layers in BasicBlock(5, 5).shortcut (default stride)")


def test_block_eval_parity(sub):
    """In eval mode, does BasicBlock match the reference (projection, odd sizes, large inputs), input intact?"""
    cases = [("identity shortcut", 4, 4, 1, (2, 4, 6, 6), 1.0),
             ("channel change", 3, 5, 1, (2, 3, 5, 7), 1.0),
             ("stride 2, odd sizes", 3, 6, 2, (2, 3, 7, 9), 1.0),
             ("stride 2, same channels", 4, 4, 2, (1, 4, 5, 5), 1.0),
             ("large magnitudes", 4, 4, 1, (2, 4, 6, 6), 1e3)]
    for family, cin, cout, stride, shape, scale in cases:
        what = f"BasicBlock({cin}, {cout}, stride={stride})"
        reference = _randomize_bn(Block(cin, cout, stride))
        block = sub.BasicBlock(cin, cout, stride)
        _load(block, reference, what)
        block.eval()
        x = randn(*shape, scale=scale)
        expected = _expected(reference, x, train=False)
        assert_close(block(x), expected, f"{what} in eval mode on {shape}", family=family,
                     atol=_scaled_atol(expected, 1e-5))
    reference = _randomize_bn(Block(4, 4, 1))
    block = sub.BasicBlock(4, 4)
    _load(block, reference, "BasicBlock(4, 4)")
    block.eval()
    x = randn(2, 4, 5, 5)
    # An in-place addition into the identity shortcut would change the caller's x.
    result = audited_call(block, (x,), names=("x",))
    expected = _expected(reference, x, train=False)
    assert_close(result, expected, "BasicBlock(4, 4) in eval mode", family="input left unchanged",
                 atol=_scaled_atol(expected, 1e-5))
    reference = _randomize_bn(Block(3, 4, 2))
    block = sub.BasicBlock(3, 4, 2)
    _load(block, reference, "BasicBlock(3, 4, stride=2)")
    block.eval()
    x = randn(2, 3, 6, 5)
    expected = _expected(reference, x, train=False)
    assert_close(block(noncontig(x)), expected, "BasicBlock(3, 4, stride=2) in eval mode",
                 family="non-contiguous", atol=_scaled_atol(expected, 1e-5))


def test_block_train_parity(sub):
    """In training mode, do outputs and every running statistic (shortcut BN too) match the reference?"""
    for family, cin, cout, stride, shape in [("stride 2, odd sizes", 3, 5, 2, (3, 3, 7, 9)),
                                             ("identity shortcut", 4, 4, 1, (2, 4, 5, 6))]:
        what = f"BasicBlock({cin}, {cout}, stride={stride})"
        reference = _randomize_bn(Block(cin, cout, stride))
        block = sub.BasicBlock(cin, cout, stride)
        _load(block, reference, what)
        block.train()
        ref = copy.deepcopy(reference).double().train()
        for step in range(2):
            x = randn(*shape) * 1.5 + 0.5
            with torch.no_grad():
                expected = ref(x.double()).float()
            assert_close(block(x), expected, f"{what} in training mode (forward {step + 1})",
                         family=family, atol=_scaled_atol(expected, 1e-5))
        got = buffers_of(block)
        for key, want in ref.state_dict().items():
            if not any(key.endswith(n) for n in ("running_mean", "running_var", "num_batches_tracked")):
                continue
            if key not in got:
                raise CheckFailed(f"buffer '{key}' is missing from {what}")
            want = want if key.endswith("num_batches_tracked") else want.float()
            assert_close(got[key], want, f"{key} of {what} after 2 training-mode forwards", family=family)


def test_block_gradients(sub):
    """Do gradients match: gradcheck in float64, and parameter grads equal to the reference's?"""
    reference = _randomize_bn(Block(1, 2, 2)).double()
    block = sub.BasicBlock(1, 2, stride=2).double()
    _load(block, reference, "BasicBlock(1, 2, stride=2)")
    block.train()
    # Small: gradcheck costs two forwards per input element and a backward per output element.
    gradcheck_remote(block, [randn(2, 1, 2, 3, dtype=torch.float64)],
                     "BasicBlock(1, 2, stride=2) in training mode, input gradient", module=block)
    for cin, cout, stride, shape in [(3, 4, 2, (2, 3, 5, 6)), (3, 3, 1, (2, 3, 4, 4))]:
        what = f"BasicBlock({cin}, {cout}, stride={stride})"
        reference = _randomize_bn(Block(cin, cout, stride)).double().train()
        block = sub.BasicBlock(cin, cout, stride=stride).double()
        _load(block, reference, what)
        block.train()
        x = randn(*shape, dtype=torch.float64)
        out_shape = reference(x).shape
        grad_out = randn(*out_shape, dtype=torch.float64)
        reference.zero_grad(set_to_none=True)
        _, grads, param_grads = vjp(block, [x], [grad_out], module=block)
        x_ref = x.clone().requires_grad_(True)
        reference(x_ref).backward(grad_out)
        assert_close(grads[0], x_ref.grad, f"{what}: gradient with respect to the input")
        for name, param in reference.named_parameters():
            got = param_grads.get(name)
            if got is None:
                raise CheckFailed(f"{what}: no gradient reached `{name}`: is it used in forward?")
            assert_close(got, param.grad, f"{what}: gradient of {name}")


def test_resnet18_parameters(sub):
    """Does resnet18() have 11,186,442 parameters, fc sized by num_classes, and the reference's keys?"""
    model = sub.resnet18()
    params = parameters_of(model)
    count = sum(v.numel() for v in params.values() if type(v) is torch.Tensor)
    assert_equal(count, RESNET18_PARAMETERS, "number of parameters of resnet18()")
    _check_keys(model, Net([2, 2, 2, 2], num_classes=10), "resnet18()")
    fc = parameters_of(sub.resnet18(num_classes=100))
    if "fc.weight" not in fc:
        raise CheckFailed("resnet18(num_classes=100) has no parameter 'fc.weight'")
    assert_tensor(fc["fc.weight"], "fc.weight of resnet18(num_classes=100)", shape=(100, 512))


def test_resnet18_forward(sub):
    """In eval mode, does resnet18() map a (2, 3, 32, 32) batch to the reference's logits?"""
    reference = _randomize_bn(Net([2, 2, 2, 2], num_classes=10))
    model = sub.resnet18()
    _load(model, reference, "resnet18()")
    model.eval()
    x = randn(2, 3, 32, 32)
    expected = _expected(reference, x, train=False)
    assert_close(model(x), expected, "resnet18() in eval mode on (2, 3, 32, 32)",
                 family="CIFAR-sized batch", atol=_scaled_atol(expected, 1e-4))


def test_resnet_custom(sub):
    """Does ResNet honour `layers` and `num_classes`, in training mode and on odd image sizes?"""
    # Four different counts: a stage that reads another stage's entry of `layers` gets the
    # wrong number of blocks, which its state_dict keys show without a forward pass.
    distinct = [4, 3, 2, 1]
    _check_keys(_resnet(sub, distinct, 10), Net(distinct), f"ResNet(BasicBlock, {distinct})")
    layers, classes = [1, 2, 1, 1], 5
    what = f"ResNet(BasicBlock, {layers}, num_classes={classes})"
    reference = _randomize_bn(Net(layers, num_classes=classes))
    model = _resnet(sub, layers, classes)
    _load(model, reference, what)
    model.eval()
    x = randn(1, 3, 37, 45)
    expected = _expected(reference, x, train=False)
    assert_close(model(x), expected, f"{what} in eval mode on (1, 3, 37, 45)", family="odd sizes",
                 atol=_scaled_atol(expected, 1e-4))
    model.train()
    x = randn(4, 3, 64, 64)
    expected = _expected(reference, x, train=True)
    assert_close(model(x), expected, f"{what} in training mode on (4, 3, 64, 64)",
                 family="batch statistics", atol=_scaled_atol(expected, 1e-4))


def test_resnet_gradients(sub):
    """In training mode, do gradients reach the input and every parameter of ResNet, equal to the reference's?"""
    layers, classes = [1, 1, 1, 1], 3
    what = f"ResNet(BasicBlock, {layers}, num_classes={classes})"
    reference = _randomize_bn(Net(layers, num_classes=classes)).double().train()
    model = _resnet(sub, layers, classes)
    _load(model, reference, what)
    model = model.double()
    model.train()
    # 40x40 leaves a 2x2 map in layer4: training-mode BatchNorm has several values per channel.
    x = randn(2, 3, 40, 40, dtype=torch.float64)
    grad_out = randn(2, classes, dtype=torch.float64)
    _, grads, param_grads = vjp(model, [x], [grad_out], module=model)
    x_ref = x.clone().requires_grad_(True)
    reference(x_ref).backward(grad_out)
    if grads[0] is None:
        raise CheckFailed(f"{what}: no gradient reached the input: is the output detached?")
    assert_close(grads[0], x_ref.grad, f"{what}: gradient with respect to the input", family="float64")
    for name, param in reference.named_parameters():
        got = param_grads.get(name)
        if got is None:
            raise CheckFailed(f"{what}: no gradient reached `{name}`: is it used in forward, "
                              "and is the output detached?")
        assert_close(got, param.grad, f"{what}: gradient of {name}", family="float64")

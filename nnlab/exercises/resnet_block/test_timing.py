"""Timing check for resnet_block: BasicBlock forward and backward against the reference block."""
from __future__ import annotations

from nnlab.grader.checks import (Timed, TimingRequest, assert_fast, load_reference_state, normal,
                                 timing)

from .test_public import Block

# (input, channels): on the CPU few channels and many pixels, so the convolutions stay
# cheap and a Python loop over pixels shows; on a GPU a ResNet-18 first-stage block.
SIZES = {"cpu": ((4, 8, 40, 40), 8), "cuda": ((32, 64, 56, 56), 64)}


def _case(device: str) -> Timed:
    shape, channels = SIZES[device]
    reference = Block(channels, channels)  # training mode: batch statistics, running stats updated

    def build(root):
        block = root.BasicBlock(channels, channels, 1)
        load_reference_state(block, reference)
        return block.to(device)

    return Timed(build, reference, [normal(*shape, requires_grad=True)], atol=1e-4)


@timing
def test_speed(sub, grading):
    """Are BasicBlock's forward and backward (training mode) about as fast as the reference block's?"""
    assert_fast(grading, sub, TimingRequest(
        _case, "BasicBlock forward and backward", "the torch.nn reference block", backward=True,
        gate=("test_block_shapes", "test_block_forward_small", "test_block_structure",
              "test_block_eval_parity", "test_block_train_parity", "test_block_gradients")))

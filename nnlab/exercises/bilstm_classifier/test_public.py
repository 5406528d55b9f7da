"""Public checks for bilstm_classifier: quick feedback on the common mistakes."""
from __future__ import annotations

import torch

from nnlab.grader.checks import assert_equal, assert_tensor, randint, state_dict_of


def test_output_shape(sub):
    """Does BiLSTMClassifier(50, 8, 6, 3) map (4, 7) token ids to (4, 3) float32 logits?"""
    model = sub.BiLSTMClassifier(50, 8, 6, 3)
    tokens = randint(0, 50, 4, 7)
    assert_tensor(model(tokens), "BiLSTMClassifier(50, 8, 6, 3) on (4, 7) token ids",
                  shape=(4, 3), dtype=torch.float32)


def test_state_dict_keys(sub):
    """Are the state_dict keys and shapes those of embedding, a bidirectional lstm and fc?"""
    vocab, embed, hidden, classes = 30, 7, 5, 4
    expected = {
        "embedding.weight": (vocab, embed),
        "lstm.weight_ih_l0": (4 * hidden, embed), "lstm.weight_hh_l0": (4 * hidden, hidden),
        "lstm.bias_ih_l0": (4 * hidden,), "lstm.bias_hh_l0": (4 * hidden,),
        "lstm.weight_ih_l0_reverse": (4 * hidden, embed), "lstm.weight_hh_l0_reverse": (4 * hidden, hidden),
        "lstm.bias_ih_l0_reverse": (4 * hidden,), "lstm.bias_hh_l0_reverse": (4 * hidden,),
        "fc.weight": (classes, 2 * hidden), "fc.bias": (classes,),
    }
    state = state_dict_of(sub.BiLSTMClassifier(vocab, embed, hidden, classes))
    assert_equal(sorted(state), sorted(expected), f"state_dict keys of BiLSTMClassifier{(vocab, embed, hidden, classes)}")
    for key, shape in expected.items():
        assert_tensor(state[key], f"state_dict entry {key}", shape=shape, dtype=torch.float32)

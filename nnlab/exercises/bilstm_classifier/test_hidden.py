"""Hidden checks for bilstm_classifier: the whole contract of its statement."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from nnlab.grader.checks import (CheckFailed, assert_close, assert_equal, assert_tensor, evaluate,
                                 load_reference_state, noncontig, randint,
                                 use_one_thread_in_worker, vjp)


class _Reference(nn.Module):
    """The contract, written with torch: the grader's reference."""

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, num_classes: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers=1, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(2 * hidden_dim, num_classes)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        output, (h_n, _) = self.lstm(self.embedding(x))
        return output, h_n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h_n = self.features(x)
        return self.fc(torch.cat([h_n[-2], h_n[-1]], dim=1))


def _pair(sub: Any, sizes: tuple[int, int, int, int]) -> tuple[Any, _Reference]:
    """A student model and a reference with the same (reference-initialized) weights."""
    reference = _Reference(*sizes)
    model = sub.BiLSTMClassifier(*sizes)
    load_reference_state(model, reference)
    return model, reference


def _expected(reference: _Reference, tokens: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The reference in float64 (a copy), cast to the output dtype."""
    with torch.no_grad():
        return _Reference_double(reference)(tokens.long()).to(dtype)


def _Reference_double(reference: _Reference) -> _Reference:
    copy = _Reference(reference.embedding.num_embeddings, reference.embedding.embedding_dim,
                      reference.lstm.hidden_size, reference.fc.out_features)
    copy.load_state_dict(reference.state_dict())
    return copy.double()


# float32 through an LSTM recurrence: a few ulps per step, well below any real mistake.
_ATOL32 = 2e-5


def test_submodules(sub):
    """Are embedding, lstm (1 layer, bidirectional, batch_first) and fc the layers of the contract?"""
    use_one_thread_in_worker(sub)
    model = sub.BiLSTMClassifier(40, 6, 5, 3)
    found = evaluate(
        sub,
        "(lambda e, l, f: {"
        "'embedding': [isinstance(e, nn.Embedding), getattr(e, 'num_embeddings', None), "
        "getattr(e, 'embedding_dim', None)], "
        "'lstm': [isinstance(l, nn.LSTM)] + [getattr(l, k, None) for k in "
        "('input_size', 'hidden_size', 'num_layers', 'bidirectional', 'batch_first')], "
        "'fc': [isinstance(f, nn.Linear), getattr(f, 'in_features', None), getattr(f, 'out_features', None)]"
        "})(getattr(m, 'embedding', None), getattr(m, 'lstm', None), getattr(m, 'fc', None))",
        label="a description of your submodules", m=model)
    if not isinstance(found, dict):
        raise CheckFailed("the submodules could not be inspected")
    assert_equal(found.get("embedding"), [True, 40, 6], "`embedding` of BiLSTMClassifier(40, 6, 5, 3): "
                 "[is an nn.Embedding, num_embeddings, embedding_dim]")
    assert_equal(found.get("lstm"), [True, 6, 5, 1, True, True],
                 "`lstm` of BiLSTMClassifier(40, 6, 5, 3): [is an nn.LSTM, input_size, hidden_size, "
                 "num_layers, bidirectional, batch_first]")
    assert_equal(found.get("fc"), [True, 10, 3], "`fc` of BiLSTMClassifier(40, 6, 5, 3): "
                 "[is an nn.Linear, in_features, out_features]")


def test_forward_parity(sub):
    """Does forward match the reference BiLSTM classifier with the same weights, for several sizes?"""
    use_one_thread_in_worker(sub)
    cases = [("small", (50, 8, 6, 3), 4, 7), ("long sequences", (13, 5, 9, 2), 3, 23),
             ("wide vocabulary, short sequences", (300, 16, 12, 5), 6, 2),
             ("one class", (20, 4, 3, 1), 5, 5)]
    for family, sizes, batch, steps in cases:
        model, reference = _pair(sub, sizes)
        tokens = randint(0, sizes[0], batch, steps)
        assert_close(model(tokens), _expected(reference, tokens), f"BiLSTMClassifier{sizes} on "
                     f"({batch}, {steps}) token ids", family=family, atol=_ATOL32)


def test_last_hidden_states(sub):
    """Does fc see the forward direction's last state, then the backward direction's state at the first token?"""
    use_one_thread_in_worker(sub)
    sizes, batch, steps = (60, 7, 6, 4), 5, 9
    model, reference = _pair(sub, sizes)
    tokens = randint(0, sizes[0], batch, steps)
    got = model(tokens)
    expected = _expected(reference, tokens)
    assert_tensor(got, f"BiLSTMClassifier{sizes} output", shape=expected.shape, dtype=torch.float32)
    if torch.allclose(got.double(), expected.double(), rtol=1e-4, atol=_ATOL32):
        return
    # Name the mistake when the output matches a common wrong choice of features.
    hidden = sizes[2]
    ref64 = _Reference_double(reference)
    with torch.no_grad():
        output, h_n = ref64.features(tokens)
        wrong = {
            "output[:, -1, :] (its backward half has only seen the last token)": ref64.fc(output[:, -1, :]),
            "the backward state first, then the forward one (cat([h_n[-1], h_n[-2]]))":
                ref64.fc(torch.cat([h_n[-1], h_n[-2]], dim=1)),
            "output[:, 0, :] (its forward half has only seen the first token)": ref64.fc(output[:, 0, :]),
            "the mean of output over time": ref64.fc(output.mean(dim=1)),
            "h_n viewed as (B, 2*H) without moving the direction axis (h_n.view(B, -1))":
                ref64.fc(h_n.reshape(batch, 2 * hidden)),
        }
    for description, value in wrong.items():
        if torch.allclose(got.double(), value, rtol=1e-4, atol=_ATOL32):
            raise CheckFailed(f"BiLSTMClassifier{sizes} on ({batch}, {steps}) token ids: your output "
                              f"matches fc applied to {description}; expected fc(cat([h_n[-2], h_n[-1]], "
                              "dim=1)): the forward direction's last state, then the backward one's")
    assert_close(got, expected, f"BiLSTMClassifier{sizes} on ({batch}, {steps}) token ids",
                 family="last hidden states", atol=_ATOL32)


def test_batch_of_one(sub):
    """Does a batch of one sequence keep its batch dimension, and does a one-token sequence work?"""
    use_one_thread_in_worker(sub)
    sizes = (25, 6, 4, 3)
    model, reference = _pair(sub, sizes)
    for family, shape in (("batch of one", (1, 6)), ("one-token sequences", (3, 1)),
                          ("one sequence of one token", (1, 1))):
        tokens = randint(0, sizes[0], *shape)
        assert_close(model(tokens), _expected(reference, tokens), f"BiLSTMClassifier{sizes} on "
                     f"{shape} token ids", family=family, atol=_ATOL32)


def test_token_inputs(sub):
    """Does forward accept int32 and non-contiguous token ids, including ids 0 and vocab_size - 1?"""
    use_one_thread_in_worker(sub)
    sizes = (17, 5, 4, 3)
    model, reference = _pair(sub, sizes)
    tokens = randint(0, sizes[0], 4, 8)
    tokens[0, :] = 0
    tokens[1, :] = sizes[0] - 1
    tokens[2, ::2] = sizes[0] - 1
    expected = _expected(reference, tokens)
    assert_close(model(tokens), expected, "forward on int64 token ids", family="ids 0 and vocab_size - 1",
                 atol=_ATOL32)
    assert_close(model(tokens.int()), expected, "forward on int32 token ids", family="int32 ids",
                 atol=_ATOL32)
    assert_close(model(noncontig(tokens)), expected, "forward on non-contiguous token ids",
                 family="non-contiguous ids", atol=_ATOL32)


def test_float64(sub):
    """Does a float64 model (model.double()) give float64 logits equal to the reference's?"""
    use_one_thread_in_worker(sub)
    sizes = (30, 6, 5, 4)
    model, reference = _pair(sub, sizes)
    model64 = model.double()
    tokens = randint(0, sizes[0], 3, 10)
    assert_close(model64(tokens), _expected(reference, tokens, torch.float64),
                 f"BiLSTMClassifier{sizes}.double() on (3, 10) token ids", family="float64")


def test_gradients(sub):
    """Do the gradients of every parameter (embedding, both LSTM directions, fc) match the reference's?"""
    use_one_thread_in_worker(sub)
    sizes, batch, steps = (20, 5, 4, 3), 4, 6
    model, reference = _pair(sub, sizes)
    model = model.double()
    ref64 = _Reference_double(reference)
    tokens = randint(0, sizes[0], batch, steps)
    grad_out = torch.randn(batch, sizes[3], dtype=torch.float64)
    out, _, param_grads = vjp(model, [], [grad_out], module=model, extra_args=(tokens,))
    ref_out = ref64(tokens)
    ref_out.backward(grad_out)
    assert_close(out, ref_out.detach(), f"BiLSTMClassifier{sizes} forward (float64)", family="gradients")
    for name, param in ref64.named_parameters():
        got = param_grads.get(name)
        if got is None:
            raise CheckFailed(f"no gradient reached `{name}`: is it a parameter used in forward?")
        assert_close(got, param.grad, f"gradient of {name}", family="float64")

"""Uses .backward() and forgets to reset x.grad between the two derivatives: d2 gets d1 added."""
# nnlab-expect: test_cubic test_pair_shapes test_polynomials test_transcendental test_tanh_sigmoid_softplus test_linear_function test_sizes_dtypes_noncontiguous test_repeated_calls


def derivatives(fn, x):
    x = x.detach().requires_grad_(True)
    fn(x).sum().backward(create_graph=True)
    d1 = x.grad.clone()
    if x.grad.requires_grad:
        x.grad.sum().backward()
    return d1.detach(), x.grad.detach().clone()

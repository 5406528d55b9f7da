"""A correct conv2d written differently: windows with Tensor.unfold on each spatial dim, one einsum."""
# nnlab-expect: full
import torch
import torch.nn.functional as F


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    def pair(v):
        return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))

    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    n, c, h, w = input.shape
    out_c, cpg, kh, kw = weight.shape
    if c != cpg * groups:
        raise RuntimeError(f"expected {cpg * groups} channels, got {c}")
    x = F.pad(input, (pw, pw, ph, ph))
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    # (N, C, H_out, W_out, span_h, span_w): windows, then every dilation-th element of each
    win = x.unfold(2, span_h, sh).unfold(3, span_w, sw)[..., ::dh, ::dw]
    h_out, w_out = win.shape[2], win.shape[3]
    win = win.reshape(n, groups, cpg, h_out, w_out, kh, kw)
    wg = weight.reshape(groups, out_c // groups, cpg, kh, kw)
    out = torch.einsum("ngcijpq,gocpq->ngoij", win, wg).reshape(n, out_c, h_out, w_out)
    return out if bias is None else out + bias.view(-1, 1, 1)

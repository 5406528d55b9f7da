"""A correct conv2d written differently: F.pad, then one einsum per kernel offset (no unfold)."""
# nnlab-expect: full
import torch
import torch.nn.functional as F


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c, h, w = input.shape
    out_c, cpg, kh, kw = weight.shape
    if cpg * groups != c:
        raise RuntimeError("weight and input channels disagree")
    h_out = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    w_out = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if h_out < 1 or w_out < 1:
        raise RuntimeError("kernel larger than the padded input")
    x = F.pad(input, (pw, pw, ph, ph)).reshape(n, groups, cpg, h + 2 * ph, w + 2 * pw)
    wg = weight.reshape(groups, out_c // groups, cpg, kh, kw)
    out = input.new_zeros(n, groups, out_c // groups, h_out, w_out)
    for p in range(kh):
        for q in range(kw):
            i0, j0 = p * dh, q * dw
            patch = x[..., i0:i0 + sh * (h_out - 1) + 1:sh, j0:j0 + sw * (w_out - 1) + 1:sw]
            out = out + torch.einsum("ngchw,goc->ngohw", patch, wg[..., p, q])
    out = out.reshape(n, out_c, h_out, w_out)
    if bias is not None:
        out = out + bias[None, :, None, None]
    return out

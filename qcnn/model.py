"""The q-CNN of §2: representation, L x (BatchNorm -> 1x1 conv -> product pooling), classifier.

    x (B, H, W) in [0,1] --flatten--> chain (B, N), N = 2^L
      --Rep (eq. 1)--> zeta^(0)   (B, N, d_0),       d_0 = 2n
      for l = 0..L-1:  BN (eqs. 2-4) -> conv a^(l) (eqs. 5-6) -> pool (eqs. 7-8)
                       (B, N/2^l, d_l) -> (B, N/2^(l+1), d_{l+1}),   d_l = d(l+1), l >= 1
      --BN -> dense a^(L) (eqs. 9-10)--> alpha (B, |C|)

Classification is argmax_y |alpha_y| (eq. 35). The flattening decides which bipartition the top
pooling sees: ``"updown"`` flattens row-major, so the top pooling joins the upper and lower
halves; ``"leftright"`` flattens the transposed image, joining the left and right halves.
"""
import os

import torch
from torch import nn

from .errors import InvalidInput, check_choice, check_int
from .basis import check_basis, features

PARTITIONS = ("updown", "leftright")
FLOATS = (torch.float32, torch.float64)     # the dtypes a q-CNN computes in


def check_pixels(name, x, dtypes=FLOATS):
    """``x`` if it is a non-empty batch (B, H, W) or (B, N), a torch tensor of one of ``dtypes``
    with every value in [0, 1]; InvalidInput naming ``name`` otherwise. The shape against a
    model is ``QCNN.flatten``'s check."""
    if not isinstance(x, torch.Tensor):
        raise InvalidInput(f"{name} must be a torch tensor, got {type(x).__name__} "
                           "(torch.as_tensor converts an array)")
    if x.dtype not in dtypes:
        hint = " (divide bytes by 255)" if x.dtype == torch.uint8 else ""
        raise InvalidInput(f"{name} must hold floats ({' or '.join(str(d)[6:] for d in dtypes)}) "
                           f"in [0, 1], got dtype {str(x.dtype)[6:]}{hint}")
    if x.dim() not in (2, 3) or len(x) == 0:
        raise InvalidInput(f"{name} must be a non-empty batch (B, H, W) or (B, N), got shape "
                           f"{tuple(x.shape)}")
    if not bool(((x >= 0) & (x <= 1)).all()):
        raise InvalidInput(f"{name} must hold values in [0, 1] (no NaN)")
    return x


def image_shape(image_size):
    """(H, W) from an int (square) or a pair; H*W must be a power of two (N = 2^L, §2)."""
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    if not (isinstance(image_size, (tuple, list)) and len(image_size) == 2):
        raise InvalidInput(f"image_size must be an int or a pair (H, W), got {image_size!r}")
    h, w = (check_int("image_size", s, 1) for s in image_size)
    if h * w < 2 or (h * w) & (h * w - 1):
        raise InvalidInput(
            f"image_size: H*W must be a power of two >= 2 (got {h}x{w} = {h * w}); the paper pads "
            "to N = 2^L: pad or resize the images first (e.g. MNIST 28x28 -> 16x16 or 32x32)")
    return h, w


def channel_widths(d, n, n_layers, n_classes):
    """[d_0, d_1, ..., d_L, d_{L+1}] with d_0 = 2n, d_l = d(l+1), d_{L+1} = |C| (§4.1)."""
    return [2 * n] + [d * (l + 1) for l in range(1, n_layers + 1)] + [n_classes]


def parameter_count(d, n, n_pixels, n_classes=10):
    """Eq. (46): sum over l = 0..L of d_l d_{l+1} (convolutions) + 2 d_l (batch norms)."""
    widths = channel_widths(d, n, n_pixels.bit_length() - 1, n_classes)
    return sum(a * b + 2 * a for a, b in zip(widths[:-1], widths[1:]))


def parameter_count_eq47(d, n_pixels):
    """Eq. (47), the closed form of eq. (46) when d_0 = 2n = d and |C| = 10."""
    L = n_pixels.bit_length() - 1
    return round(d**2 * L**3 / 3 + (d**2 + d) * L**2 + (2 * d**2 / 3 + 13 * d) * L + 12 * d)


def available_memory(device="cpu"):
    """Bytes of memory available on ``device``: free GPU memory, or the CPU's MemAvailable."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_memory(needed, what, device="cpu", share=0.8, smaller="d or n"):
    """InvalidInput naming ``what`` if it needs more than ``share`` of the memory available
    (the advice: choose a smaller ``smaller``). Every large allocation is checked here first."""
    available = available_memory(device)
    if needed > share * available:
        raise InvalidInput(f"{what} needs about {needed / 2**30:.1f} GiB, more than the "
                         f"{available / 2**30:.1f} GiB of memory available ({torch.device(device).type}): "
                         f"choose a smaller {smaller}")


def forward_flops(model):
    """Multiply-add FLOPs of one image's forward pass: 2 d_l d_{l+1} per position per layer."""
    widths, positions = model.widths, [model.n_pixels >> l for l in range(model.n_layers)] + [1]
    return sum(2 * p * a * b for p, a, b in zip(positions, widths[:-1], widths[1:]))


class QCNN(nn.Module):
    """The q-CNN (§2). ``forward`` maps images (B, H, W) or chains (B, N) to alpha (B, |C|).

    d: channel scale, d_l = d(l+1) for l >= 1 (the paper's d_0 = d needs 2n = d, eq. 47); n:
    Fourier cutoff, d_0 = 2n input channels (eqs. 19-21);
    image_size: int or (H, W) with H*W = 2^L; partition: which halves the top pooling joins;
    basis: "fourier" (eq. 19) or "legendre"; bn_shift_init: initial batch-norm shift beta
    (PyTorch's default is 0, on which training sits on a plateau until the learning rate is
    first halved: see the reproduction notes).
    """

    def __init__(self, d, n, image_size, n_classes=10, partition="updown", basis="fourier",
                 bn_shift_init=1.0):
        super().__init__()
        d, n, n_classes = check_int("d", d, 1), check_int("n", n, 1), check_int("n_classes", n_classes, 1)
        check_choice("partition", partition, PARTITIONS)
        check_basis(basis)
        self.d, self.n, self.n_classes = d, n, n_classes
        self.partition, self.basis = partition, basis
        self.image_size = image_shape(image_size)
        self.n_pixels = self.image_size[0] * self.image_size[1]
        check_memory(4 * (parameter_count(d, n, self.n_pixels, n_classes) + 2 * n * self.n_pixels),
                     f"a q-CNN with d = {d}, n = {n} and image_size {self.image_size[0]}x"
                     f"{self.image_size[1]} (its float32 weights and one image's features alone)",
                     share=0.5, smaller="d, n or image_size")
        self.n_layers = self.n_pixels.bit_length() - 1
        self.widths = channel_widths(d, n, self.n_layers, n_classes)
        self.norms = nn.ModuleList(nn.BatchNorm1d(w) for w in self.widths[:-1])
        self.convs = nn.ModuleList(
            nn.Linear(a, b, bias=False) for a, b in zip(self.widths[:-1], self.widths[1:]))
        for norm in self.norms:
            nn.init.constant_(norm.bias, bn_shift_init)

    def flatten(self, x):
        """Images (B, H, W) -> chains (B, N) in the partition's order; chains pass unchanged."""
        h, w = self.image_size
        if x.dim() == 3 and tuple(x.shape[1:]) == (h, w):
            return (x if self.partition == "updown" else x.transpose(1, 2)).reshape(len(x), -1)
        if x.dim() == 2 and x.shape[1] == self.n_pixels:
            return x
        raise InvalidInput(f"input must have shape (B, {h}, {w}) or (B, {self.n_pixels}), "
                         f"got {tuple(x.shape)}")

    def forward(self, x):
        """alpha (B, |C|) of images or chains ``x``: a non-empty batch in [0, 1], in the model's
        dtype (``check_pixels``)."""
        chain = self.flatten(check_pixels("input", x, (self.convs[0].weight.dtype,)))
        return self.forward_features(features(chain, self.n, self.basis))

    def forward_features(self, z, inspect=None):
        """The layers after the representation: z (B, N, d_0) -> alpha (B, |C|).
        ``inspect(name, tensor)``, if given, sees every intermediate output (diagnostics)."""
        batch = z.shape[0]
        for level, (norm, conv) in enumerate(zip(self.norms[:-1], self.convs[:-1])):
            z = conv(norm(z.reshape(-1, z.shape[-1]))).reshape(batch, -1, 2, conv.out_features)
            if inspect:
                inspect(f"layer {level} batch norm + convolution", z)
            z = z[:, :, 0] * z[:, :, 1]                         # product pooling, eq. (8)
            if inspect:
                inspect(f"layer {level} product pooling", z)
        return self.convs[-1](self.norms[-1](z.reshape(batch, -1)))

    def extra_repr(self):
        return (f"d={self.d}, n={self.n}, image_size={self.image_size}, "
                f"partition={self.partition!r}, basis={self.basis!r}, widths={self.widths}")


def randomize(model, generator):
    """Random weights, batch-norm affines and running statistics, in place: a generic
    (entangled) state for the exactness checks. Returns the model."""
    with torch.no_grad():
        for norm in model.norms:
            norm.running_mean.normal_(0, 0.5, generator=generator)
            norm.running_var.uniform_(0.5, 2.0, generator=generator)
            norm.weight.uniform_(0.5, 1.5, generator=generator)
            norm.bias.normal_(0, 1.0, generator=generator)
        for conv in model.convs:
            conv.weight.normal_(0, conv.in_features**-0.5, generator=generator)
    return model


def random_model(seed, **kwargs):
    """A float64 q-CNN (``QCNN(**kwargs)``) with random weights and batch-norm statistics drawn
    from ``seed`` (``randomize``): a generic, entangled state for checks and illustrations."""
    return randomize(QCNN(**kwargs).double(), torch.Generator().manual_seed(seed))


@torch.no_grad()
def calibrate_batchnorm(model, inputs, batch=500, features=False):
    """Set every batch norm's running statistics, in place, to the averages of its batch means
    and variances over ``inputs`` (chains (B, N) in the model's order, or with ``features``
    their features (B, N, d_0)) for the current weights: eval mode then normalises by the
    data's statistics, not by an average over past batches. Weights and the step counter are
    untouched (training in train mode never reads these statistics). Returns the model, in eval
    mode."""
    saved = [(norm.momentum, norm.num_batches_tracked.clone()) for norm in model.norms]
    for norm in model.norms:
        norm.running_mean.zero_()
        norm.running_var.fill_(1)
        norm.num_batches_tracked.zero_()
        norm.momentum = None                      # a cumulative average over the batches
    model.train()
    forward = model.forward_features if features else model
    for start in range(0, len(inputs), batch):
        forward(inputs[start:start + batch])
    for norm, (momentum, count) in zip(model.norms, saved):
        norm.momentum = momentum
        norm.num_batches_tracked.copy_(count)
    return model.eval()


def predict(alpha):
    """The label of eq. (35): argmax_y |alpha_y|."""
    return alpha.abs().argmax(dim=-1)


def born_probabilities(alpha):
    """p(y|x) = alpha_y(x)^2 / sum_y' alpha_y'(x)^2 (eq. 34): the Born rule's label
    probabilities of each image."""
    square = alpha.square()
    return square / square.sum(-1, keepdim=True)

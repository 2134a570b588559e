"""The q-CNN's training step written out by hand: batch norm + 1x1 conv + product pooling fused.

In train mode a batch norm (eqs. 2-4) uses the batch's own statistics, mean mu and biased
variance var over all rows (images x positions). With s = gamma / sqrt(var + eps) it is the
affine map zeta -> s (zeta - mu) + beta, and the convolution after it (eqs. 5-6) folds in:

    xi = (zeta - mu) W^T + a beta,      W = a diag(s),

one matrix product per layer, then the product pooling (eqs. 7-8). The backward pass is the
chain rule through exactly that, the same for every layer:

    pooling:     dxi_even = dzeta' * xi_odd,   dxi_odd = dzeta' * xi_even
    the product: dW = dxi^T (zeta - mu),   db = sum_rows dxi,   dbeta = a^T db
    the folding: da = dW diag(s) + db beta^T,   ds = colsum(a * dW)  ->  dgamma, dvar
    the input:   dzeta = dxi W + 2 (zeta - mu) dvar / rows - (db W) / rows   (mu and var depend
                 on every row; the mean's term through var vanishes).

Against autograd through ``nn.BatchNorm1d`` and ``nn.Linear`` this makes fewer passes over the
activations and far fewer operations; ``tests/test_fused.py`` checks loss, gradients, running
statistics and AdamW against the plain model and torch's optimiser (float64, 1e-12).

``TrainingStep`` is one whole step (the batch gathered from the data set's leaves, forward,
backward, AdamW, running statistics) as one function of tensors updated in place, with no
data-dependent Python control flow: it can be compiled whole (torch.compile) and, on a GPU,
captured and replayed as a CUDA graph. ``folded_forward`` is eval mode for evaluation.
``PlainStep`` is the same step through autograd and ``torch.optim.AdamW``, the yardstick that
``qcnn bench train`` times the hand-written step against.
"""
import torch


def layer_parameters(model):
    """The model's trainable tensors in the order of ``forward_backward``'s gradients:
    gamma_0, beta_0, a_0, gamma_1, ..., a_L (batch-norm scale and shift, convolution)."""
    return [t for norm, conv in zip(model.norms, model.convs)
            for t in (norm.weight, norm.bias, conv.weight)]


def forward_backward(flat, leaves, targets, eps):
    """Loss (eq. 48), gradients and batch statistics for one batch in train mode.

    flat: the tensors of ``layer_parameters``; leaves: (B, N, d_0) features of the batch;
    targets: (B, |C|) one-hot labels. Returns (loss, grads, means, variances): grads in the
    order of ``flat``, means and biased variances per level (for the running statistics).
    """
    params = [flat[i:i + 3] for i in range(0, len(flat), 3)]
    batch = leaves.shape[0]
    z = leaves.reshape(-1, leaves.shape[-1])
    saved, means, variances = [], [], []
    for level, (gamma, beta, a) in enumerate(params):
        if level == len(params) - 1:
            z = z.reshape(batch, -1)                      # the classifier's input (eq. 9)
        mu = z.mean(0)
        centred = z - mu
        var = centred.square().mean(0)
        rstd = torch.rsqrt(var + eps)
        s = gamma * rstd
        w = a * s
        xi = torch.addmm(a @ beta, centred, w.t())        # a (s (z - mu) + beta)
        saved.append((centred, xi, rstd, s, w))
        means.append(mu)
        variances.append(var)
        if level < len(params) - 1:
            pairs = xi.view(-1, 2, xi.shape[1])
            z = pairs[:, 0] * pairs[:, 1]                 # product pooling (eq. 8)
    error = xi - targets
    loss = error.square().sum(1).mean()

    grads = []
    dxi = error * (2.0 / batch)
    for level in range(len(params) - 1, -1, -1):
        gamma, beta, a = params[level]
        centred, xi, rstd, s, w = saved[level]
        if level < len(params) - 1:                       # back through the pooling
            pairs = xi.view(-1, 2, xi.shape[1])
            dz = dxi.view(pairs.shape[0], -1)
            dxi = torch.stack((dz * pairs[:, 1], dz * pairs[:, 0]), dim=1).view(xi.shape)
        dw = dxi.t() @ centred
        db = dxi.sum(0)
        ds = (a * dw).sum(0)
        grads[:0] = [ds * rstd, a.t() @ db, dw * s + torch.outer(db, beta)]
        if level:
            rows = centred.shape[0]
            dvar = ds * gamma * (-0.5) * rstd**3
            through_stats = centred * (dvar * (2.0 / rows)) - (db @ w) / rows
            dxi = torch.addmm(through_stats, dxi, w)
    return loss, grads, means, variances


def adamw_(params, grads, exp_avgs, exp_avg_sqs, step, lr, keep, betas=(0.9, 0.999),
           eps=1e-8, weight_decay=0.01):
    """AdamW in place, the arithmetic of ``torch.optim.AdamW`` (single-tensor path), applied
    only where the 0-d boolean ``keep`` is true (so a bad batch changes nothing). step and lr
    are 1-element tensors: a changing learning rate needs no recompilation (and torch.compile
    loses in-place updates of 0-d CPU tensors)."""
    beta1, beta2 = betas
    new_step = step + 1
    step.copy_(torch.where(keep, new_step, step))
    step_size = lr / (1 - beta1**new_step)
    root_correction = (1 - beta2**new_step).sqrt()
    for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
        m_new = m.lerp(g, 1 - beta1)
        v_new = v * beta2 + (1 - beta2) * g * g
        p_new = p * (1 - lr * weight_decay) - step_size * m_new / (v_new.sqrt() / root_correction + eps)
        p.copy_(torch.where(keep, p_new, p))
        m.copy_(torch.where(keep, m_new, m))
        v.copy_(torch.where(keep, v_new, v))


class TrainingStep:
    """One training step of ``model``: ``step(index)`` trains on the rows ``index`` of the data
    set ``leaves`` (N_data, N, d_0) with ``labels`` and returns the batch's loss (0-d, before the
    update). A non-finite loss leaves the model and the optimiser state untouched; the caller
    decides what to do. The batch norms' running statistics move as ``nn.BatchNorm1d``'s do.

    The optimiser's state (``state_dict``) is AdamW's: exp_avg, exp_avg_sq, step. ``lr`` is a
    1-element tensor the caller may change in place. ``compile``: torch.compile the whole step."""

    def __init__(self, model, leaves, labels, lr, weight_decay, compile=False):
        self.model, self.leaves = model, leaves
        self.targets = torch.nn.functional.one_hot(labels, model.n_classes).to(leaves.dtype)
        self.params = [p.data for p in layer_parameters(model)]
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.step_count = torch.zeros(1, dtype=torch.float64, device=leaves.device)
        self.lr = torch.full((1,), lr, dtype=torch.float64, device=leaves.device)
        self.weight_decay = weight_decay
        self.eps, self.momentum = model.norms[0].eps, model.norms[0].momentum
        self.run = torch.compile(self.step_in_place, dynamic=False) if compile else self.step_in_place
        self.graph = None

    def step_in_place(self, index):
        leaves, targets = self.leaves[index], self.targets[index]
        loss, grads, means, variances = forward_backward(self.params, leaves, targets, self.eps)
        keep = torch.isfinite(loss)
        adamw_(self.params, grads, self.exp_avg, self.exp_avg_sq, self.step_count,
               self.lr.to(leaves.dtype), keep, weight_decay=self.weight_decay)
        rows = [leaves.shape[0] * leaves.shape[1] >> level for level in range(len(means))]
        rows[-1] = leaves.shape[0]
        for norm, mu, var, r in zip(self.model.norms, means, variances, rows):
            unbiased = var * (r / (r - 1))
            norm.running_mean.copy_(torch.where(keep, norm.running_mean.lerp(mu, self.momentum),
                                                norm.running_mean))
            norm.running_var.copy_(torch.where(keep, norm.running_var.lerp(unbiased, self.momentum),
                                               norm.running_var))
            norm.num_batches_tracked.add_(keep.long())
        return loss

    def __call__(self, index):
        if self.graph is not None:
            self.static_index.copy_(index)
            self.graph.replay()
            return self.static_loss
        with torch.no_grad():
            return self.run(index)

    def state_tensors(self):
        """Every tensor a step changes: parameters, AdamW's state, running statistics."""
        norms = [t for n in self.model.norms
                 for t in (n.running_mean, n.running_var, n.num_batches_tracked)]
        return self.params + self.exp_avg + self.exp_avg_sq + [self.step_count] + norms

    def capture(self, index):
        """CUDA only: record the step for batches of ``index``'s size as a CUDA graph, which
        later calls replay (one launch per step instead of hundreds). The warm-up steps that
        capturing needs (and compilation) run on the real state, which is then restored."""
        saved = [t.clone() for t in self.state_tensors()]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side), torch.no_grad():
            for _ in range(3):
                self.run(index)
        torch.cuda.current_stream().wait_stream(side)
        with torch.no_grad():
            for t, s in zip(self.state_tensors(), saved):
                t.copy_(s)
        self.static_index = index.clone()
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph), torch.no_grad():
            self.static_loss = self.run(self.static_index)

    def state_dict(self):
        """AdamW's state as lists of tensors: exp_avg, exp_avg_sq (one per parameter), step, lr."""
        return {"exp_avg": self.exp_avg, "exp_avg_sq": self.exp_avg_sq, "step": [self.step_count],
                "lr": [self.lr]}

    def load_state_dict(self, state):
        copy_state(self.state_dict(), state)


def copy_state(mine, theirs):
    """Copy the optimiser state ``theirs`` into ``mine`` (lists of tensors keyed by name, as
    ``state_dict`` gives them); ValueError if a list has the wrong length."""
    for name in mine:
        if len(theirs[name]) != len(mine[name]):
            raise ValueError(f"optimizer state {name!r}: {len(theirs[name])} tensors, "
                             f"expected {len(mine[name])}")
        for t, value in zip(mine[name], theirs[name]):
            t.copy_(value)


class PlainStep:
    """``TrainingStep``'s step through autograd: the model's own modules in train mode
    (``forward_features``: nn.BatchNorm1d, which moves the running statistics, and nn.Linear),
    the loss of eq. (48), ``loss.backward()`` and ``torch.optim.AdamW``. Same interface and
    ``state_dict`` format, so a checkpoint of either resumes in the other.

    A non-finite loss leaves the model and AdamW's state untouched, as in TrainingStep, but at
    a price TrainingStep does not pay: the running statistics are copied before every forward
    pass (to be put back) and the check is a host sync. ``lr`` is a CPU tensor (read once a
    step, no device sync). ``compile``: torch.compile the forward pass and the loss (autograd
    then runs the compiled backward); AdamW stays eager."""

    def __init__(self, model, leaves, labels, lr, weight_decay, compile=False):
        self.model, self.leaves = model, leaves
        self.targets = torch.nn.functional.one_hot(labels, model.n_classes).to(leaves.dtype)
        self.params = layer_parameters(model)
        self.optimizer = torch.optim.AdamW(self.params, lr=lr, weight_decay=weight_decay)
        for p in self.params:           # AdamW's state as its first step would make it
            self.optimizer.state[p] = {"step": torch.zeros((), dtype=torch.float64),
                                       "exp_avg": torch.zeros_like(p),
                                       "exp_avg_sq": torch.zeros_like(p)}
        self.lr = torch.full((1,), lr, dtype=torch.float64)
        self.statistics = [t for n in model.norms
                           for t in (n.running_mean, n.running_var, n.num_batches_tracked)]
        self.loss = torch.compile(self.batch_loss, dynamic=False) if compile else self.batch_loss

    def batch_loss(self, index):
        alpha = self.model.forward_features(self.leaves[index])
        return (alpha - self.targets[index]).square().sum(1).mean()            # eq. (48)

    def __call__(self, index):
        self.model.train()                      # batch statistics, whatever the caller left
        saved = [t.clone() for t in self.statistics]
        self.optimizer.param_groups[0]["lr"] = self.lr.item()
        self.optimizer.zero_grad()
        loss = self.loss(index)
        if torch.isfinite(loss):
            loss.backward()
            self.optimizer.step()
        else:
            with torch.no_grad():
                for t, s in zip(self.statistics, saved):
                    t.copy_(s)
        return loss.detach()

    def capture(self, index):
        """Nothing: the plain step is not captured as a CUDA graph (its finiteness check syncs
        with the host every step, which a graph cannot hold); it runs as launched."""

    def state_dict(self):
        """AdamW's state in TrainingStep's format. torch keeps a step count per parameter (all
        equal): the first stands for them all."""
        states = [self.optimizer.state[p] for p in self.params]
        return {"exp_avg": [s["exp_avg"] for s in states],
                "exp_avg_sq": [s["exp_avg_sq"] for s in states],
                "step": [states[0]["step"].view(1)], "lr": [self.lr]}

    def load_state_dict(self, state):
        copy_state(self.state_dict(), state)
        for p in self.params[1:]:
            self.optimizer.state[p]["step"].copy_(self.optimizer.state[self.params[0]]["step"])


def folded_forward(model, leaves):
    """alpha (B, |C|) in eval mode (running statistics) from leaves (B, N, d_0): per level one
    matrix product with the batch norm folded in (as ``qcnn.network`` folds it), then the
    pooling. No autograd."""
    batch = leaves.shape[0]
    z = leaves.reshape(-1, leaves.shape[-1])
    for level, (norm, conv) in enumerate(zip(model.norms, model.convs)):
        if level == len(model.convs) - 1:
            z = z.reshape(batch, -1)
        s = norm.weight * torch.rsqrt(norm.running_var + norm.eps)
        a = conv.weight
        xi = torch.addmm(a @ (norm.bias - norm.running_mean * s), z, (a * s).t())
        if level < len(model.convs) - 1:
            pairs = xi.view(-1, 2, xi.shape[1])
            z = pairs[:, 0] * pairs[:, 1]
    return xi

"""Reference optimizer trajectories from PyTorch for crates/regml/tests/nn_optim.rs.

A 5-4-3 network (tanh hidden layer, softmax cross-entropy) in float64 is trained full-batch
on fixed data for 12 steps with each optimizer. Weight decay applies to kernels only
(biases are in a parameter group with weight_decay=0), matching regml's default.
Parameters after every step are written in regml's layout: kernel (inputs x units,
i.e. PyTorch's weight transposed) then bias, per layer.

Run: python3 crates/regml/tests/golden/make_torch_optim.py  (needs torch; see
bench/install-peers.sh)
"""
import gzip
import json
import os

import torch

torch.set_default_dtype(torch.float64)
torch.manual_seed(0)
N, P, H, K, STEPS = 16, 5, 4, 3, 12
x = torch.randn(N, P)
y = torch.randint(0, K, (N,))
w1, b1 = torch.randn(H, P) * 0.5, torch.randn(H) * 0.1
w2, b2 = torch.randn(K, H) * 0.5, torch.randn(K) * 0.1

CASES = [
    ("sgd", "sgd", dict(lr=0.1), None),
    ("sgd_momentum", "sgd", dict(lr=0.1, momentum=0.9), None),
    ("sgd_nesterov_wd", "sgd", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05), None),
    ("sgd_momentum_dampening", "sgd", dict(lr=0.1, momentum=0.5, dampening=0.3), None),
    ("adam", "adam", dict(lr=0.01), None),
    ("adam_wd", "adam", dict(lr=0.01, weight_decay=0.1), None),
    ("adamw", "adamw", dict(lr=0.01, weight_decay=0.0), None),
    ("adamw_wd", "adamw", dict(lr=0.01, weight_decay=0.1), None),
    ("adamw_wd_clip", "adamw", dict(lr=0.05, weight_decay=0.01, betas=(0.8, 0.99), eps=1e-6), 0.5),
]


def flat(layers):
    out = []
    for w, b in layers:
        out += w.detach().t().reshape(-1).tolist() + b.detach().tolist()
    return out


cases = []
for name, kind, kw, clip in CASES:
    l1 = torch.nn.Linear(P, H)
    l2 = torch.nn.Linear(H, K)
    with torch.no_grad():
        l1.weight.copy_(w1); l1.bias.copy_(b1); l2.weight.copy_(w2); l2.bias.copy_(b2)
    wd = kw.pop("weight_decay", 0.0 if kind != "adamw" else 0.01)
    groups = [
        {"params": [l1.weight, l2.weight], "weight_decay": wd},
        {"params": [l1.bias, l2.bias], "weight_decay": 0.0},
    ]
    opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind](
        groups, **kw
    )
    traj = []
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(l2(torch.tanh(l1(x))), y)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(list(l1.parameters()) + list(l2.parameters()), clip)
        opt.step()
        losses.append(loss.item())
        traj.append(flat([(l1.weight, l1.bias), (l2.weight, l2.bias)]))
    cases.append(
        dict(
            name=name,
            optimizer=kind,
            lr=kw["lr"],
            weight_decay=wd,
            momentum=kw.get("momentum", 0.0),
            dampening=kw.get("dampening", 0.0),
            nesterov=kw.get("nesterov", False),
            betas=list(kw.get("betas", (0.9, 0.999))),
            eps=kw.get("eps", 1e-8),
            clip=clip,
            losses=losses,
            trajectory=traj,
        )
    )

out = dict(
    torch_version=torch.__version__,
    x=x.tolist(),
    y=y.tolist(),
    init=flat([(w1, b1), (w2, b2)]),
    hidden=H,
    classes=K,
    cases=cases,
)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_optim.json.gz")
with gzip.open(path, "wt") as f:
    json.dump(out, f)
print("wrote", path)

# Learning-rate schedules stepped once per epoch, base rate 0.1, 12 epochs.
def lrs(make, metrics=None):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = make(opt)
    out = []
    for e in range(12):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[e])
    return out


S = torch.optim.lr_scheduler
plateau_losses = [1.0, 0.9, 0.95, 0.93, 0.91, 0.92, 0.94, 0.8, 0.85, 0.86, 0.87, 0.88]
schedules = dict(
    step=lrs(lambda o: S.StepLR(o, step_size=3, gamma=0.5)),
    exponential=lrs(lambda o: S.ExponentialLR(o, gamma=0.8)),
    cosine=lrs(lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
    warmup=lrs(lambda o: S.LinearLR(o, start_factor=1 / 3, total_iters=4)),
    plateau=lrs(
        lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=1, threshold=1e-4, cooldown=1),
        plateau_losses,
    ),
    plateau_losses=plateau_losses,
)
spath = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_schedules.json")
with open(spath, "w") as f:
    json.dump(schedules, f, indent=1)
print("wrote", spath)

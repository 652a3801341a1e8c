"""PyTorch twin of shrinkray's distillation loop, for a side-by-side speed figure (dev only).

Same student shape (LeNet-5 with BatchNormalization, channel widths given), same data file,
batch size, optimizer (Adam, cosine to 0), loss (alpha * T^2 * KL + (1 - alpha) * CE) and
the same caching: the teacher's logits are computed once before the timed epochs, as
shrinkray does without shifts or hints. Weights are freshly initialised: speed does not
depend on them. Prints one JSON line with samples per wall-clock second and per CPU second
(process time, less sensitive to other jobs on a shared machine) over the timed epochs.

  /usr/bin/python3 test/bench/distill_torch.py --widths 3,8,60,42 --epochs 1 --threads 1
"""
import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def lenet5(c1, c2, f1, f2):
    return nn.Sequential(
        nn.Conv2d(1, c1, 5, padding=2), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 5), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(c2 * 25, f1), nn.ReLU(), nn.Linear(f1, f2), nn.ReLU(), nn.Linear(f2, 10))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data', default='fixtures/data/mnist-train.npz')
    p.add_argument('--widths', default='3,8,60,42')
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--lr', type=float, default=0.01)
    p.add_argument('--temperature', type=float, default=4.0)
    p.add_argument('--alpha', type=float, default=0.9)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--seed', type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    d = np.load(a.data)
    x = torch.from_numpy(d['x'].astype(np.float32))
    y = torch.from_numpy(d['y'].astype(np.int64))
    teacher = lenet5(6, 16, 120, 84).eval()
    student = lenet5(*map(int, a.widths.split(','))).train()
    with torch.no_grad():
        cached = torch.cat([teacher(x[i:i + 256]) for i in range(0, len(x), 256)])
    opt = torch.optim.Adam(student.parameters(), lr=a.lr)
    steps_per_epoch = len(x) // a.batch
    total = steps_per_epoch * a.epochs
    t = a.temperature
    gen = torch.Generator().manual_seed(a.seed)
    start = time.perf_counter()
    cpu_start = time.process_time()
    step = 0
    for _ in range(a.epochs):
        order = torch.randperm(len(x), generator=gen)
        for s in range(steps_per_epoch):
            rows = order[s * a.batch:(s + 1) * a.batch]
            for g in opt.param_groups:
                g['lr'] = a.lr * (1 + math.cos(math.pi * step / total)) / 2
            out = student(x[rows])
            soft = F.kl_div(F.log_softmax(out / t, 1), F.log_softmax(cached[rows] / t, 1), reduction='batchmean', log_target=True) * t * t
            loss = a.alpha * soft + (1 - a.alpha) * F.cross_entropy(out, y[rows])
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()
            step += 1
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(json.dumps({'engine': 'pytorch', 'version': torch.__version__, 'threads': a.threads, 'samplesPerSecond': total * a.batch / seconds, 'samplesPerCpuSecond': total * a.batch / cpu, 'seconds': seconds}))


if __name__ == '__main__':
    main()

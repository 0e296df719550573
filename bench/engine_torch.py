#!/usr/bin/env python3
"""PyTorch side of `npm run bench:engine`: the same four workloads, same shapes,
Adam, median train step (zero_grad + forward + loss + backward + step).
bench/engine.ts runs it in the same sitting, configured competently (issue 12):
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE MALLOC_MMAP_THRESHOLD_=67108864 \
      MALLOC_TRIM_THRESHOLD_=134217728 /usr/bin/python3 bench/engine_torch.py [--steps 30]
(OPENBLAS_CORETYPE/L2_SIZE force older kernels on this CPU; without the malloc
thresholds glibc maps and unmaps big buffers every step), 2 threads, and
prints the BLAS library and the OpenBLAS kernel it loaded."""
import argparse, ctypes, os, statistics, time
import torch, torch.nn as nn, torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--steps", type=int, default=30)
p.add_argument("--batches", default="32,256")
args = p.parse_args()
torch.manual_seed(0)
torch.set_num_threads(int(__import__("os").environ.get("TORCH_THREADS", "2")))
H, R = 64, 4

class Mlp(nn.Module):
    def __init__(s):
        super().__init__(); s.net = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    def forward(s, b): return s.net(b["x"])

class Lmf(nn.Module):
    def __init__(s):
        super().__init__()
        s.enc = nn.ModuleList([nn.Linear(d, H) for d in (300, 74, 35)])
        s.factors = nn.ModuleList([nn.Linear(H + 1, R * H) for _ in range(3)])
        s.head = nn.Linear(H, 8)
    def forward(s, b):
        prod = None
        for m in range(3):
            h = F.relu(s.enc[m](b[f"x{m}"]))
            f = s.factors[m](torch.cat([h, h.new_ones(h.shape[0], 1)], 1)).view(-1, R, H)
            prod = f if prod is None else prod * f
        return s.head(prod.sum(1))

class CrossAttention(nn.Module):
    def __init__(s):
        super().__init__()
        s.text, s.image = nn.Linear(384, H), nn.Linear(512, H)
        s.attn = nn.MultiheadAttention(H, 4, batch_first=True)
        s.head = nn.Linear(H, 8)
    def forward(s, b):
        t, i = s.text(b["text"]), s.image(b["image"])
        return s.head((t + s.attn(t, i, i, need_weights=False)[0]).mean(1))

class Cnn(nn.Module):
    """src/encoders/imageCnn.ts on 32x32x3, width 64, 9 classes (channels-first here, PyTorch's native layout)."""
    def __init__(s):
        super().__init__()
        s.conv1, s.conv2 = nn.Conv2d(3, 16, 5, padding=2), nn.Conv2d(16, 32, 3, padding=1)
        s.token = nn.Linear(32, H)
        s.positions = nn.Parameter(torch.randn(64, H) * 0.02)
        s.projection, s.head = nn.Linear(64 * H, H), nn.Linear(H, 9)
    def forward(s, b):
        h = F.max_pool2d(F.relu(s.conv2(F.max_pool2d(F.relu(s.conv1(b["x"])), 2))), 2)  # [B, 32, 8, 8]
        tokens = s.token(h.flatten(2).transpose(1, 2)) + s.positions                       # [B, 64, H]
        return s.head(F.relu(s.projection(tokens.flatten(1))))

def batch(name, B):
    y = torch.randint(0, {"mlp": 10, "cnn": 9}.get(name, 8), (B,))
    if name == "cnn": return {"x": torch.rand(B, 3, 32, 32)}, y
    if name == "mlp": return {"x": torch.randn(B, 512)}, y
    if name == "lmf": return {"x0": torch.randn(B, 300), "x1": torch.randn(B, 74), "x2": torch.randn(B, 35)}, y
    return {"text": torch.randn(B, 20, 384), "image": torch.randn(B, 16, 512)}, y

def blas_kernel():
    """The BLAS library mapped into this process and, for OpenBLAS, its core (kernel) and build config."""
    libs = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line.lower() and ".so" in line})
    described = []
    for path in libs:
        real = os.path.realpath(path)
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            described.append(f"{real} (OpenBLAS core {lib.openblas_get_corename().decode()}; {lib.openblas_get_config().decode().strip()})")
        except (OSError, AttributeError):
            described.append(real)
    return "; ".join(described) or "none found in /proc/self/maps"

build = next((part.strip() for part in torch.__config__.show().split(",") if "BLAS_INFO" in part), "BLAS_INFO unknown")
print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, {build.split()[-1]}; "
      f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}, MALLOC_MMAP_THRESHOLD_={os.environ.get('MALLOC_MMAP_THRESHOLD_', 'unset')}")
torch.randn(8, 8) @ torch.randn(8, 8)  # loads the BLAS
print(f"BLAS: {blas_kernel()}")
print("| workload | batch | median train step (ms) |\n|---|---|---|")
for name, cls in (("mlp", Mlp), ("lmf", Lmf), ("cross-attention", CrossAttention), ("cnn", Cnn)):
    for B in map(int, args.batches.split(",")):
        model = cls(); opt = torch.optim.Adam(model.parameters(), 1e-3); b, y = batch(name, B)
        times = []
        for i in range(args.steps + 3):
            t0 = time.perf_counter()
            opt.zero_grad(); F.cross_entropy(model(b), y).backward(); opt.step()
            if i >= 3: times.append((time.perf_counter() - t0) * 1000)
        print(f"| {name} | {B} | {statistics.median(times):.2f} |")
        print(f"RESULT {name} {B} {statistics.median(times):.4f}")

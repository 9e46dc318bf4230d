"""How long the local renderer plus imaging takes per tier, and how much memory it needs.

Run ``python benchmarks/bench_render.py``. Each case (tier × ratio) runs in a fresh subprocess, so its
peak resident memory (``ru_maxrss``, which also counts Pillow's C allocations that tracemalloc misses) is
its own. Timings are medians over a few images with different seeds, after one warm-up image.

Columns: ``render`` draws the image; ``fit+enc`` fits it to the exact size and encodes the JPEG under the
tier's ceiling (the best quality that fits); ``total`` is both. ``via provider`` is the production path:
the provider's quality-95 bytes, decoded, fitted and re-encoded under the ceiling. Nothing is asserted:
benchmarks measure, tests don't time things.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

PROMPT = "matte black and gold headphones launch, dramatic light"
BUDGET_4K_S = 2.0
RATIOS = ("16:9", "9:16")
TIERS = ("1K", "2K", "4K")
RUNS = {"1K": 5, "2K": 5, "4K": 3}


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_case(tier_name: str, ratio_text: str, runs: int) -> dict[str, float | int | str]:
    """One tier × ratio, in this process. Returns medians and the peak memory."""
    from bot import imaging
    from bot.destinations import ImageFormat, SafeZone
    from bot.providers.local import render, render_bytes
    from bot.tiers import Ratio, Tier, local_size

    tier = Tier(tier_name)
    size = local_size(Ratio.parse(ratio_text), tier)
    zone = SafeZone.TOP if size.height > size.width else SafeZone.LEFT
    ceiling = tier.jpeg_ceiling_bytes

    def once(seed: int) -> tuple[float, float, imaging.EncodedImage]:
        start = time.perf_counter()
        img = render(PROMPT, seed, size, safe_zone=zone)
        drawn = time.perf_counter()
        fitted, _ = imaging.fit(img, size)
        encoded = imaging.encode(fitted, ImageFormat.JPEG, ceiling_bytes=ceiling)
        return drawn - start, time.perf_counter() - drawn, encoded

    def via_provider(seed: int) -> float:
        start = time.perf_counter()
        data = render_bytes(PROMPT, seed, size, safe_zone=zone)
        img = imaging.decode(data, max_pixels=64_000_000)
        fitted, _ = imaging.fit(img, size)
        imaging.encode(fitted, ImageFormat.JPEG, ceiling_bytes=ceiling)
        return time.perf_counter() - start

    baseline = _rss_mib()
    once(0)  # warm-up: font loading, first allocations
    renders, encodes, sizes, qualities = [], [], [], []
    for seed in range(1, runs + 1):
        r, e, encoded = once(seed)
        renders.append(r)
        encodes.append(e)
        sizes.append(len(encoded.data))
        qualities.append(encoded.quality or 0)
    peak_render_path = _rss_mib()
    provider_path = [via_provider(seed) for seed in range(1, runs + 1)]
    totals = [r + e for r, e in zip(renders, encodes, strict=True)]
    return {
        "tier": tier_name,
        "ratio": ratio_text,
        "size": str(size),
        "runs": runs,
        "render_ms": statistics.median(renders) * 1000,
        "encode_ms": statistics.median(encodes) * 1000,
        "total_ms": statistics.median(totals) * 1000,
        "provider_ms": statistics.median(provider_path) * 1000,
        "bytes": int(statistics.median(sizes)),
        "ceiling": ceiling,
        "quality": int(statistics.median(qualities)),
        "baseline_mib": baseline,
        "peak_mib": peak_render_path,
        "peak_provider_mib": _rss_mib(),
    }


def run_search() -> dict[str, float | int]:
    """The JPEG quality search on its worst case, a noise-heavy 4K frame, against a plain bisection."""
    from PIL import Image

    from bot import imaging
    from bot.destinations import ImageFormat
    from bot.tiers import Tier

    # the module (bot.imaging's `encode` is its function of that name)
    encoding = importlib.import_module("bot.imaging.encode")

    size = (4096, 2304)
    noisy = Image.merge("RGB", [Image.effect_noise(size, sigma) for sigma in (60, 40, 70)])
    ceiling = Tier.FINAL.jpeg_ceiling_bytes
    full_encodes = 0
    plain = encoding.jpeg_bytes

    def counting(img: Image.Image, quality: int, **options: Any) -> bytes | None:
        nonlocal full_encodes
        full_encodes += img.size == size
        return plain(img, quality, **options)

    encoding.jpeg_bytes = counting  # what encode() calls, in its own module
    start = time.perf_counter()
    encoded = imaging.encode(noisy, ImageFormat.JPEG, ceiling_bytes=ceiling)
    searched = time.perf_counter() - start
    encoding.jpeg_bytes = plain

    start = time.perf_counter()
    lo, hi, steps = imaging.JPEG_MIN_QUALITY, imaging.JPEG_MAX_QUALITY, 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        data = plain(noisy, mid)
        steps += 1
        lo, hi = (mid, hi) if data is not None and len(data) <= ceiling else (lo, mid - 1)
    bisected = time.perf_counter() - start
    return {
        "quality": encoded.quality or 0,
        "bisect_quality": lo,
        "bytes": len(encoded.data),
        "search_ms": searched * 1000,
        "full_encodes": full_encodes,
        "bisect_ms": bisected * 1000,
        "bisect_encodes": steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--case", nargs=2, metavar=("TIER", "RATIO"), help="run one case here, print JSON")
    parser.add_argument("--runs", type=int, default=0)
    parser.add_argument("--search", action="store_true", help="time the JPEG quality search, print JSON")
    args = parser.parse_args()
    if args.search:
        print(json.dumps(run_search()))
        return
    if args.case:
        tier, ratio = args.case
        print(json.dumps(run_case(tier, ratio, args.runs or RUNS[tier])))
        return

    rows = []
    for tier in TIERS:
        for ratio in RATIOS:
            out = subprocess.run(
                [sys.executable, __file__, "--case", tier, ratio],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            rows.append(json.loads(out.stdout))

    header = (
        f"{'tier':<4} {'ratio':<5} {'size':>10} {'runs':>4} {'render':>8} {'fit+enc':>8} {'total':>8} "
        f"{'via provider':>12} {'bytes':>10} {'ceiling':>10} {'q':>3} {'peak RSS':>9} {'Δ RSS':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['tier']:<4} {row['ratio']:<5} {row['size']:>10} {row['runs']:>4} "
            f"{row['render_ms']:>6.0f}ms {row['encode_ms']:>6.0f}ms {row['total_ms']:>6.0f}ms "
            f"{row['provider_ms']:>10.0f}ms {row['bytes']:>10,} {row['ceiling']:>10,} {row['quality']:>3} "
            f"{row['peak_mib']:>6.0f}MiB {row['peak_mib'] - row['baseline_mib']:>5.0f}MiB"
        )
    print()
    print("ms are medians; peak RSS is the whole process (Python + Pillow), Δ is above the idle interpreter.")
    print("via provider: render + JPEG q95 + decode + fit + encode, as bot.generation does it.")
    for row in rows:
        if row["tier"] == "4K":
            ratio = float(row["total_ms"]) / 1000 / BUDGET_4K_S
            via = float(row["provider_ms"]) / 1000 / BUDGET_4K_S
            print(
                f"4K {row['ratio']}: {ratio:.2f} of the {BUDGET_4K_S:.0f} s budget "
                f"({via:.2f} via the provider path); peak {row['peak_provider_mib']:.0f} MiB incl. that path"
            )
    out = subprocess.run(
        [sys.executable, __file__, "--search"], check=True, capture_output=True, text=True, cwd=ROOT
    )
    search = json.loads(out.stdout)
    print(
        f"JPEG search, noise-heavy 4K frame under {5_000_000:,} B: quality {search['quality']} "
        f"({search['bytes']:,} B) in {search['search_ms']:.0f} ms, {search['full_encodes']} full encodes; "
        f"plain bisection: quality {search['bisect_quality']} in {search['bisect_ms']:.0f} ms "
        f"with {search['bisect_encodes']} encodes"
    )


if __name__ == "__main__":
    main()

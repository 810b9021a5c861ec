#!/usr/bin/env python3
"""Summarises the capture reports written by `bench/gpu/run.sh capture` as a Markdown table.

    python3 bench/gpu/capture_summary.py DIR   # DIR holds capture-<mode>-decode-<x>-<out>.json
"""
import json
import pathlib
import sys


def row(path):
    r = json.loads(path.read_text())
    e, p, run = r["engine"], r["playout"], r["run"]
    g = run.get("gpu") or {}
    n = max(e["panoramas"], 1)
    shown = max(p["frames_out"], 1)
    name = path.stem.removeprefix("capture-")
    name, _, engine = name.partition("-detector-")
    mode, _, rest = name.partition("-decode-")
    decode, _, out = rest.partition("-")
    return [
        mode,
        "NVDEC -> GPU memory" if decode == "true" else "NVDEC -> system memory -> upload",
        "x264 MP4" if out == "record" else "rendered + downloaded",
        f"{e['camera_frames'][0]}+{e['camera_frames'][1]} / {e['panoramas']} / {p['frames_out']}",
        f"{run['seconds']:.2f}",
        f"{run['fps']:.1f}",
        f"{n / max(e['panorama_span_ms'], 1) * 1000:.1f}",
        f"{e['stitch_us'] / n / 1000:.2f}",
        f"{e['wait_pool_us'] / n / 1000:.2f}",
        f"{p['render_us'] / shown / 1000:.2f}",
        f"{p['outputs_us'] / shown / 1000:.2f}",
        f"{g.get('host_to_device_per_frame', 0) / 1e6:.2f}",
        f"{g.get('device_to_host_per_frame', 0) / 1e6:.2f}",
        f"{p['ring_bytes_copied'] / n / 1e6:.2f}",
        f"{run['host_rss_bytes'] / 1e9:.2f} / {run['host_peak_bytes'] / 1e9:.2f}",
        f"{e['partner_missing'][0] + e['partner_missing'][1]}",
        f"{e['pool_exhausted']}",
    ] + detector_cells(r.get("detector"), engine, e)


def detector_cells(d, engine, e):
    """Detector columns: engine, frames analysed, analysed per second of the engine's run,
    per analysed frame: whole stage ms, engine ms, engine ms per tile, latency ms, output
    read back MB; frames skipped while busy."""
    if not d:
        return ["off"] + ["-"] * 8
    a = max(d["analysed"], 1)
    span_s = max(e["panorama_span_ms"], 1) / 1000
    return [
        f"{engine} ({d['tiles']} tiles)",
        f"{d['analysed']}",
        f"{d['analysed'] / span_s:.1f}",
        f"{d['inference_us_total'] / a / 1000:.2f}",
        f"{d['engine_us_total'] / a / 1000:.2f}",
        f"{d['engine_us_total'] / a / 1000 / max(d['tiles'], 1):.2f}",
        f"{d['last_latency_us'] / 1000:.1f} / {d['max_latency_us'] / 1000:.1f}",
        f"{(d['engine_htod_bytes'] + d['engine_dtoh_bytes']) / a / 1e6:.2f}",
        f"{d['skipped_busy']}",
    ]


HEAD = [
    "ring mode", "camera frames", "programme", "camera frames / panoramas / shown",
    "seconds", "fps (whole run)", "engine fps (sustained)", "stitch ms/frame",
    "pool wait ms/frame", "render ms/frame", "output ms/frame", "H->D MB/frame",
    "D->H MB/frame", "ring copies MB/frame", "host RSS end / peak GB", "repeated frames",
    "dropped", "detector", "analysed", "analysed/s", "detector ms/frame",
    "engine ms/frame", "engine ms/tile", "latency last / max ms", "engine PCIe MB/frame",
    "skipped busy",
]


def main():
    d = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "bench/gpu/out")
    rows = [row(p) for p in sorted(d.glob("capture-*.json"))]
    print("| " + " | ".join(HEAD) + " |")
    print("|" + "---|" * len(HEAD))
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()

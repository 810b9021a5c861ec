#!/usr/bin/env python3
"""Interop peer for the Rust transport tests: pyzmq + msgpack, fields decoded by name.

usage: interop.py <rust_pub_endpoint> <rust_sub_endpoint>

1. Connects a SUB to the Rust publisher, waits for a FrameTick and checks it by field name.
2. Connects a PUB to the Rust bound SUB and publishes a CameraPath every 100 ms (for up to
   10 s) so the Rust side can decode it.
Prints one line per step; exits non-zero on any mismatch.
"""
import sys
import time

import msgpack
import zmq


def main():
    pub_ep, sub_ep = sys.argv[1], sys.argv[2]
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"tick")
    sub.setsockopt(zmq.RCVTIMEO, 10000)
    sub.connect(pub_ep)
    topic, payload = sub.recv_multipart()
    msg = msgpack.unpackb(payload, raw=False)
    assert topic == b"tick", topic
    assert list(msg.keys())[0] == "v", msg
    assert msg["v"] == 1, msg
    assert msg["width"] == 1920 and msg["height"] == 640, msg
    assert msg["pts_ns"] == msg["seq"] * 40_000_000, msg
    print(f"received tick seq={msg['seq']}", flush=True)

    pub = ctx.socket(zmq.PUB)
    pub.connect(sub_ep)
    path = {
        "v": 1,
        "path_id": 42,
        "keyframes": [
            {"pts_ns": 1_000_000_000, "yaw": -12.5, "pitch": -4.0, "fov": 45.0},
            {"pts_ns": 1_040_000_000, "yaw": -12.0, "pitch": -4.0, "fov": 44.5},
        ],
    }
    deadline = time.time() + 10
    while time.time() < deadline:
        pub.send_multipart([b"path", msgpack.packb(path, use_bin_type=True)])
        time.sleep(0.1)
    print("published paths", flush=True)


if __name__ == "__main__":
    main()

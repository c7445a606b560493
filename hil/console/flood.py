#!/usr/bin/python3
"""A flood at the operator console while the controller runs: does the cycle keep its period?

Starts `vigil demo --console pty --quiet`, attaches to the pty, reads the cycle's lateness and
overruns from `status` after a quiet window, then writes random bytes (with line ends) as fast as
the pty takes them for a while, and reads `status` again. A measurement, not a test: the figures
depend on the machine. Figures and their context: docs/CONSOLE.md.

    /usr/bin/python3 hil/console/flood.py [--vigil .build/release/vigil] [--seconds 15]
"""
import argparse
import os
import random
import re
import select
import subprocess
import time
import tty


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigil", default=".build/release/vigil")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    demo = subprocess.Popen([args.vigil, "demo", "--console", "pty", "--quiet", "--duration", str(60 + 2 * args.seconds)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    path = re.search(r"console on (\S+)", demo.stdout.readline()).group(1)
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd)

    def drain(seconds):
        out, end = b"", time.time() + seconds
        while time.time() < end:
            if select.select([fd], [], [], 0.05)[0]:
                try:
                    out += os.read(fd, 65536)
                except BlockingIOError:
                    pass
        return out.decode("utf-8", "replace")

    def status():
        os.write(fd, b"status\r")
        text = drain(1.0)
        m = re.search(r"cycle (\d+).*lateness p99 (\d+) µs \(max (\d+)\)\s+overruns (\d+)", text, re.S)
        return dict(zip(["cycle", "p99_us", "max_us", "overruns"], map(int, m.groups()))) if m else {"reply": text}

    drain(20)  # start-up and the detectors' warm-up
    drain(args.seconds)
    before = status()
    rng, sent, t0 = random.Random(args.seed), 0, time.time()
    while time.time() - t0 < args.seconds:
        chunk = bytes(rng.getrandbits(8) for _ in range(4096)) + b"\r"
        try:
            sent += os.write(fd, chunk)
        except BlockingIOError:
            pass
        drain(0.001)
    drain(2)
    after = status()
    print(f"quiet {args.seconds:.0f} s: cumulative lateness p99 {before.get('p99_us')} µs, max {before.get('max_us')} µs, overruns {before.get('overruns')}")
    print(f"flood: {sent} bytes in {args.seconds:.0f} s ({sent / args.seconds / 1000:.0f} kB/s; a 115200-baud line carries 11.5 kB/s)")
    print(f"after the flood: cumulative lateness p99 {after.get('p99_us')} µs, max {after.get('max_us')} µs, overruns {after.get('overruns')}")
    os.write(fd, b"status\r")
    print("console still answering:", "plant " in drain(1.0))
    demo.terminate()
    demo.wait()


if __name__ == "__main__":
    main()

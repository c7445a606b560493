#!/usr/bin/python3
"""The console's session security, end to end, measured.

Starts `vigil demo --console pty` (its journal in a work directory), and as an operator with a
terminal on the pty:

1. reattach: logs in as engineer, closes the terminal, opens it again and asks `whoami`: the role
   the next person gets (it must be viewer);
2. PIN attempt set: `login operator 1111` on one line, a PIN at the prompt, five wrong engineer PINs
   (the demo locks after 5), the right PIN typed after the lockout refusal, a PIN typed after
   Ctrl-C at the PIN prompt, a PIN typed after an empty PIN;
3. restart: kills the controller with SIGKILL, starts it again on the same journal and tries
   `login engineer`: whether the lockout held.

Then counts the demo PINs (1111, 2222) and the wrong one (9999) as whole words in the journal's
audit_log (command and result), in the controller's log output (stdout and stderr of both runs)
and in everything the terminal showed (echo and replies). Prints one JSON object; exit status 0
when the run itself worked (the numbers are for the caller to judge).

    /usr/bin/python3 hil/console/session-security.py --vigil .build/debug/vigil [--workdir DIR]

Uses Debian's python3-pexpect.
"""
import argparse
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import termios
import time
import tty

from pexpect import fdpexpect, TIMEOUT, EOF

PROMPT = r"(vigil> |vigil\((operator|engineer)\)# |PIN: )"
PINS = ["1111", "2222", "9999"]


def start_vigil(binary, journal, log_path):
    offset = os.path.getsize(log_path) if os.path.exists(log_path) else 0
    log = open(log_path, "ab")
    proc = subprocess.Popen([binary, "demo", "--console", "pty", "--quiet", "--journal", journal, "--duration", "600"],
                            stdout=log, stderr=log, cwd=os.path.normpath(os.path.dirname(os.path.abspath(binary)) + "/../.."))
    deadline = time.time() + 60
    while time.time() < deadline:
        with open(log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
        found = re.findall(r"console on (/dev/pts/\d+)", text)
        if found:
            return proc, found[-1]
        if proc.poll() is not None:
            raise SystemExit(f"vigil exited early: {text[-2000:]}")
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("vigil did not print its console pty")


class Terminal:
    """A terminal program on the pty: raw line, everything it shows kept in `shown`."""

    def __init__(self, path, shown):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd, termios.TCSANOW)  # TCSAFLUSH would throw away a banner already waiting
        self.con = fdpexpect.fdspawn(self.fd, timeout=20, encoding="utf-8", codec_errors="replace")
        self.shown = shown

        class Tee:
            def write(self, text):
                shown.append(text)

            def flush(self):
                pass

        self.con.logfile_read = Tee()

    def expect(self, pattern, timeout=20):
        try:
            self.con.expect(pattern, timeout=timeout)
            return self.con.match
        except (TIMEOUT, EOF):
            raise SystemExit(f"expected /{pattern}/; the console said: {(self.con.before or '')[-800:]!r}")

    def say(self, line):
        """Types a line and waits for the next prompt; returns what came back."""
        self.con.send(line + "\r")
        self.expect(PROMPT)
        return self.con.before

    def sync(self):
        """Presses Enter and reads every prompt that comes (a waiting banner's and the new line's)."""
        self.con.send("\r")
        self.expect(PROMPT)
        while self.con.expect([PROMPT, TIMEOUT], timeout=1.5) == 0:
            pass

    def close(self):
        os.close(self.fd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--workdir")
    args = ap.parse_args()
    work = args.workdir or tempfile.mkdtemp(prefix="vigil-session-security-")
    journal, log_path = os.path.join(work, "journal.sqlite"), os.path.join(work, "vigil.log")
    shown = []
    result = {}

    proc, pty = start_vigil(args.vigil, journal, log_path)
    try:
        # 1. Reattach.
        t = Terminal(pty, shown)
        t.sync()
        t.say("login engineer")
        t.say("2222")
        t.say("whoami")
        t.close()
        time.sleep(1.0)
        t = Terminal(pty, shown)
        t.sync()
        t.con.send("whoami\r")
        m = t.expect(r"(viewer|operator|engineer) on console")
        result["role_after_reattach"] = m.group(1)
        t.expect(PROMPT)
        t.say("logout")

        # 2. The PIN attempt set.
        t.say("login operator 1111")
        t.say("logout")
        t.say("login operator")
        t.say("1111")
        t.say("logout")
        for _ in range(5):
            t.say("login engineer")
            t.say("9999")
        refusal = t.say("login engineer")
        result["locked_before_restart"] = "locked" in refusal
        t.say("2222")                      # typed after the lockout refusal
        t.say("logout")
        t.con.send("login operator\r")
        t.expect(r"PIN: ")
        t.con.send("\x03")                 # Ctrl-C at the PIN prompt
        t.expect(PROMPT)
        t.say("1111")                      # typed after the prompt went
        t.say("login operator")
        t.say("")                          # an empty PIN
        t.say("1111")
        t.close()
    finally:
        # 3. kill -9 and start again on the same journal.
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc, pty = start_vigil(args.vigil, journal, log_path)
    try:
        t = Terminal(pty, shown)
        t.sync()
        after = t.say("login engineer")
        result["locked_after_kill_and_restart"] = "locked" in after
        if t.con.after == "PIN: ":
            t.con.send("\x03")
            t.expect(PROMPT)
        t.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()

    db = sqlite3.connect(journal)
    audit = [f"{c} {r}" for c, r in db.execute("SELECT command, result FROM audit_log")]
    with open(log_path, "rb") as f:
        log = f.read().decode("utf-8", "replace")
    echo = "".join(shown)

    def count(texts):
        return sum(len(re.findall(rf"(?<!\d){p}(?!\d)", text)) for text in texts for p in PINS)

    result["pin_occurrences"] = {"audit_log": count(audit), "log": count([log]), "terminal": count([echo])}
    result["audit_rows"] = len(audit)
    result["workdir"] = work
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())

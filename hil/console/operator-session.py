#!/usr/bin/python3
"""An operator at the serial console, end to end.

Drives the far end of a serial line (a socat pty pair in CI, a USB-serial adapter by hand) to a
`vigil demo` or `vigil run` console, the way a person with `screen` would: sees an injected fault
raise an alarm, looks at it, explains the detection, gives feedback (stored at once; the model
update it asks for runs at the lowest priority and is announced when done, so on a busy host it may
come after the session), acknowledges the alarm, and on the way checks roles, PINs, confirmations
and bad input.

Uses Debian's python3-pexpect (run it with /usr/bin/python3). Exit status 0 when every step saw
what it expected; otherwise 1, naming the step and what the console last printed.

    /usr/bin/python3 hil/console/operator-session.py LINE [--operator-pin 1111] [--engineer-pin 2222]

The demo plant's fault for this session: `--inject "TT-301A stuck at 22s" --inject "device
rtu-temps timeout at 30s"` (the water temperature pair loses both sources: an operator alarm).
"""
import argparse
import os
import re
import time
import sys
import termios
import tty

from pexpect import fdpexpect, TIMEOUT, EOF

PROMPT = r"vigil(\((operator|engineer)\)#|>) $"


class Step(Exception):
    pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("line", help="the serial device (or pty) the operator types on")
    ap.add_argument("--operator-pin", default="1111")
    ap.add_argument("--engineer-pin", default="2222")
    ap.add_argument("--alarm-timeout", type=float, default=120)
    ap.add_argument("--log", help="write everything the console printed here")
    args = ap.parse_args()

    fd = os.open(args.line, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)  # a terminal program puts its line in raw mode too: our bytes, unprocessed
    attrs = termios.tcgetattr(fd)
    attrs[4] = attrs[5] = termios.B115200
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    con = fdpexpect.fdspawn(fd, timeout=20, encoding="utf-8", codec_errors="replace")
    log = open(args.log, "w") if args.log else None
    transcript = []  # everything the console printed, for news that may arrive at any prompt

    class Tee:
        def write(self, text):
            transcript.append(text)
            if log:
                log.write(text)

        def flush(self):
            if log:
                log.flush()

    con.logfile_read = Tee()
    step_name = ["start"]

    def step(name):
        step_name[0] = name
        if log:
            log.write(f"\n----- {name}\n")
            log.flush()

    def expect(pattern, timeout=20):
        try:
            con.expect(pattern, timeout=timeout)
        except (TIMEOUT, EOF) as e:
            tail = (con.before or "")[-600:]
            raise Step(f"step '{step_name[0]}': expected /{pattern}/, got {type(e).__name__}; console said: {tail!r}")
        return con.match

    def login(role, pin, expect_text):
        """`login ROLE`, then the PIN at its prompt; checks the reply and that the PIN was not echoed."""
        con.send(f"login {role}\r")
        expect(r"PIN: ")
        con.send(pin + "\r")
        expect(PROMPT)
        if expect_text not in con.before or pin in con.before:
            raise Step(f"step '{step_name[0]}': login {role} should say '{expect_text}' without echoing the PIN: {con.before!r}")

    def confirm(line, answer, expect_text):
        """Types a command that asks for confirmation, answers it, checks the outcome."""
        con.send(line + "\r")
        sent(line)
        expect(r"confirm \(yes/no\)\? $")
        con.send(answer + "\r")
        expect(PROMPT)
        if expect_text not in con.before:
            raise Step(f"step '{step_name[0]}': '{line}' answered {answer} should say '{expect_text}': {con.before[-800:]!r}")

    def sent(line):
        """Waits for the console's echo of a short typed line: news (a new alarm, a model change) can
        arrive with a prompt of its own at any time, and must not be taken for the command's reply."""
        if len(line) < 80 and line.isprintable():
            expect(re.escape(line))

    def command(line, expect_text=None, timeout=20):
        """Types a line, waits for the next prompt, returns what came between; checks expect_text."""
        con.send(line + "\r")
        sent(line)
        expect(PROMPT, timeout)
        reply = con.before
        if expect_text and not re.search(expect_text, reply):
            raise Step(f"step '{step_name[0]}': '{line}' should answer /{expect_text}/, answered: {reply[-800:]!r}")
        return reply

    try:
        step("attach")
        con.send("\r")  # the banner was sent before we attached: ask for a fresh prompt
        expect(PROMPT)

        step("viewing needs no login")
        command("status", r"policy model: v\d+")
        command("sensors water-temperature", r"TT-301A.*\n(.|\n)*water-temperature")
        command("help ack", r"ack ALARM")

        step("alarm handling needs an operator")
        command("ack 1", r"needs operator; you are viewer")

        step("a wrong PIN is refused")
        login("operator", "0000", "wrong PIN")

        step("login operator")
        login("operator", args.operator_pin, "logged in as operator")
        command("whoami", r"operator on console:")

        step("bad input gets a short reply, the console keeps working")
        command("x" * 400, r"line too long")
        os.write(fd, b"\xff\xfe\r")  # raw bytes: pexpect would encode a str as UTF-8
        expect(PROMPT)
        if "not valid UTF-8" not in con.before:
            raise Step(f"invalid UTF-8 not reported: {con.before!r}")
        command("stauts", r"did you mean 'status'")
        con.send("ack 99\x03")  # Ctrl-C abandons the line
        expect(r"\^C")
        expect(PROMPT)
        command("shelve 1 forever because", r"DURATION must be")

        step("the injected fault raises an alarm")
        m = expect(r"\*\*\* ALARM (\d+) (\w+) ([^:]+):", timeout=args.alarm_timeout)
        alarm = m.group(1)
        expect(PROMPT)
        reply = command("alarms", rf"(?m)^{alarm}\s+UNACK")
        if "water-temperature" not in reply:
            raise Step(f"the alarm should be about water-temperature: {reply!r}")

        step("find and explain the detection")
        # On a busy machine the alarm can come first (a slow RTU line's own findings, say) and the
        # stuck detection a little later, or still be on its way to the journal: ask again a while.
        deadline = time.monotonic() + 45
        reply = command("events 80")
        while not re.search(r"detection TT-301A: stuck", reply) and time.monotonic() < deadline:
            time.sleep(1)
            reply = command("events 80")
        if not re.search(r"detection TT-301A: stuck", reply):
            raise Step(f"step '{step_name[0]}': 'events 80' should answer /detection TT-301A: stuck/ within 45 s, answered: {reply[-800:]!r}")
        event = re.findall(r"#(\d+) \S+ \S+ detection TT-301A: stuck", reply)[-1]
        command(f"explain {event}", r"stuck(.|\n)*policy model")

        step("feedback: confirm the diagnosis; stored at once, the model update queued")
        # Right after the event its feature samples are still being stored: the console refuses at
        # once (it never waits) and says to give the verdict again in a moment.
        for _ in range(20):
            reply = command(f"feedback {event} confirm frozen transmitter, replaced", r"feedback \d+ stored|give the verdict again", timeout=60)
            if "give the verdict again" not in reply:
                break
            time.sleep(1)
        feedback_id = re.search(r"feedback (\d+) stored", reply).group(1)
        if "model update queued" not in reply:
            raise Step(f"the feedback reply should say the model update is queued: {reply!r}")

        step("acknowledge the alarm")
        command(f"ack {alarm}", rf"alarm {alarm} acknowledged")
        command("alarms", rf"(?m)^{alarm}\s+ack\b")

        step("control needs an engineer, and a confirmation")
        command("failover discharge-pressure PT-101C", r"needs engineer")
        login("engineer", args.engineer_pin, "logged in as engineer")
        confirm("failover discharge-pressure PT-101C", "no", "cancelled")
        confirm("failover discharge-pressure PT-101C", "yes", "now follows PT-101C")
        command("sensors discharge-pressure", r"PT-101C\s+manual \(operator\)")
        confirm("release discharge-pressure", "yes", "back to automatic")
        command("sensors discharge-pressure", r"discharge-pressure\s+\S+\s+\S+\s+\S+\s+auto")
        command("safe-state exit", r"not in safe state")

        step("the model update's verdict, if the learner ran it during the session")
        command("status")
        update = re.search(rf"model update after feedback {feedback_id}: (.*)", "".join(transcript))
        if update and not re.search(r"model v\d+ deployed|update rejected|update postponed|update failed", update.group(1)):
            raise Step(f"the update announcement should give a verdict: {update.group(0)!r}")
        if update and (deployed := re.search(r"model v(\d+) deployed", update.group(1))):
            command("model", rf"v{deployed.group(1)} running|v\d+ running")

        step("logout")
        command("logout", r"logged out \(engineer\)")
        command("ack 1", r"needs operator")
    except Step as e:
        print(f"operator-session: FAIL {e}", file=sys.stderr)
        return 1
    print("operator-session: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())

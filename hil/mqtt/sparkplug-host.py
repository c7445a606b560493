#!/usr/bin/env python3
"""A small third-party Sparkplug B host, built on pysparkplug's Client (paho-mqtt underneath), for
checking a Vigil edge node against a real broker.

    .build-py/bin/python hil/mqtt/sparkplug-host.py --broker mqtt://127.0.0.1:1883 [--out FILE]
        [--node GROUP/EDGE_NODE] [--rebirth] [--write DEVICE METRIC VALUE]... [--control FILE|-]
        [--duration SECONDS]

It connects, subscribes to `spBv1.0/#` (QoS 1) and writes one JSON line per message received, in
arrival order, to FILE (default: standard output), flushed line by line:

    {"topic", "type", "group", "node", "device", "seq", "bdSeq", "timestamp", "metrics": [
        {"name", "alias", "datatype", "value", "is_historical", "is_null", "timestamp", "properties"}]}

Names and datatypes of NDATA/DDATA metrics are resolved from the aliases of the latest NBIRTH/DBIRTH
(pysparkplug's own resolution); `bdSeq` is the `bdSeq` metric of an NBIRTH or NDEATH (else null);
`seq` is null when the payload has none. Besides messages, lines with an "event" key say what the
host itself did: `connected`, `subscribed`, `disconnected`, `sent` (a command), `undecodable` (a
message pysparkplug refused: topic, error, payload hex) and `refused` (a command line it could not
carry out). The client reconnects by itself (every 0.5 s at most) and subscribes again.

Commands, from the command line (sent in order once connected) or one per line from `--control`
(a file followed as it grows, or `-` for standard input), for the edge node named by `--node` (or
the last one whose NBIRTH arrived):

    rebirth                          NCMD `Node Control/Rebirth` = true
    write DEVICE METRIC VALUE [TYPE] DCMD METRIC = VALUE on DEVICE (TYPE: Double by default, or
                                     Boolean, Int32, Int64, Float, String)
    quit                             disconnect and exit

Runs until `quit`, the end of `--duration`, or SIGTERM/SIGINT. The venv: scripts/install-deps.
"""
import argparse
import json
import math
import os
import signal
import sys
import threading
import time
from urllib.parse import urlparse

import pysparkplug as psp
from pysparkplug import _protobuf as pb

DATATYPES = {
    "double": psp.DataType.DOUBLE,
    "float": psp.DataType.FLOAT,
    "boolean": psp.DataType.BOOLEAN,
    "int32": psp.DataType.INT32,
    "int64": psp.DataType.INT64,
    "string": psp.DataType.STRING,
}


def plain(value):
    """A JSON-safe form of a metric or property value."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return value


def property_value(value):
    field = value.WhichOneof("value")
    return None if value.is_null or field is None else plain(getattr(value, field))


class Output:
    """One JSON object per line, flushed, from any thread."""

    def __init__(self, path):
        self.file = sys.stdout if path in (None, "-") else open(path, "a", encoding="utf-8")
        self.lock = threading.Lock()

    def write(self, record):
        line = json.dumps(record, sort_keys=True)
        with self.lock:
            self.file.write(line + "\n")
            self.file.flush()


class Host(psp.Client):
    """pysparkplug's Client that reports a payload it cannot decode instead of dying on it (paho
    would end its network thread on an exception raised in a message callback)."""

    def __init__(self, out, **kwargs):
        super().__init__(**kwargs)
        self.out = out
        self.last_payload = b""

    def _handle_message(self, mqtt_message):
        self.last_payload = mqtt_message.payload
        try:
            return super()._handle_message(mqtt_message)
        except Exception as error:  # the decoder's refusal, whatever its type, is the finding
            self.out.write({"event": "undecodable", "topic": mqtt_message.topic,
                            "error": f"{type(error).__name__}: {error}", "payload": mqtt_message.payload.hex()})
            return None


def record(message, raw_payload):
    """The JSON line of one decoded message."""
    topic = message.topic
    payload = message.payload
    if isinstance(payload, psp.NDeath):
        metrics = (payload.bd_seq_metric,)
    else:
        metrics = tuple(getattr(payload, "metrics", ()))
    raw = None
    try:
        raw = pb.Payload.FromString(raw_payload)
    except Exception:
        raw = None
    raw_metrics = list(raw.metrics) if raw is not None else []
    out_metrics = []
    bd_seq = None
    for i, metric in enumerate(metrics):
        properties = {}
        if i < len(raw_metrics) and raw_metrics[i].HasField("properties"):
            props = raw_metrics[i].properties
            properties = {k: property_value(v) for k, v in zip(props.keys, props.values)}
        out_metrics.append({
            "name": metric.name,
            "alias": metric.alias,
            "datatype": metric.datatype.name if metric.datatype is not None else None,
            "value": plain(metric.value),
            "is_historical": metric.is_historical,
            "is_null": metric.is_null,
            "timestamp": metric.timestamp,
            "properties": properties,
        })
        if metric.name == "bdSeq" and topic.message_type in (psp.MessageType.NBIRTH, psp.MessageType.NDEATH):
            bd_seq = metric.value
    seq = None
    if raw is not None and raw.HasField("seq"):
        seq = raw.seq
    return {
        "topic": str(topic),
        "type": str(topic.message_type),
        "group": topic.group_id,
        "node": topic.edge_node_id,
        "device": topic.device_id,
        "seq": seq,
        "bdSeq": bd_seq,
        "timestamp": raw.timestamp if raw is not None and raw.HasField("timestamp") else None,
        "metrics": out_metrics,
    }


class Session:
    def __init__(self, args, out):
        self.args = args
        self.out = out
        self.node = tuple(args.node.split("/", 1)) if args.node else None
        self.done = threading.Event()
        url = urlparse(args.broker)
        if url.scheme not in ("mqtt", "tcp") or not url.hostname:
            raise SystemExit(f"sparkplug-host: --broker takes mqtt://host[:port], got {args.broker!r}")
        self.host, self.port = url.hostname, url.port or 1883
        options = psp.ClientOptions(reconnection_delay_min=0.1, reconnection_delay_max=0.5)
        self.client = Host(out, client_id=args.client_id or f"sparkplug-host-{os.getpid()}", client_options=options)
        paho = self.client._client
        paho.on_subscribe = lambda _c, _u, mid, granted: out.write({"event": "subscribed", "mid": mid, "granted": list(granted)})
        paho.on_disconnect = lambda _c, _u, rc: out.write({"event": "disconnected", "rc": rc})
        self.connected = threading.Event()

    def on_message(self, _client, message):
        if message is None:
            return
        if message.topic.message_type == psp.MessageType.NBIRTH and self.args.node is None:
            self.node = (message.topic.group_id, message.topic.edge_node_id)
        # The raw payload (kept by Host in this same network thread) gives what pysparkplug's objects
        # leave out: properties, and whether `seq` is present.
        self.out.write(record(message, self.client.last_payload))

    def on_connect(self, _client):
        self.out.write({"event": "connected", "broker": f"{self.host}:{self.port}"})
        self.connected.set()

    def run(self):
        self.client.subscribe(psp.Topic(group_id=psp.MULTI_LEVEL_WILDCARD), psp.QoS.AT_LEAST_ONCE, self.on_message)
        self.client.connect(self.host, port=self.port, keepalive=10, blocking=False, callback=self.on_connect)
        if self.args.command_lines and not self.connected.wait(30):
            self.out.write({"event": "refused", "command": "; ".join(self.args.command_lines), "error": "not connected after 30 s"})
        else:
            for line in self.args.command_lines:
                self.command(line)
        if self.args.control:
            threading.Thread(target=self.follow, args=(self.args.control,), daemon=True).start()
        self.done.wait(self.args.duration)
        self.client.disconnect()

    def follow(self, path):
        """Command lines from standard input, or from a file followed as it grows."""
        if path == "-":
            for line in sys.stdin:
                self.command(line)
            return
        with open(path, encoding="utf-8") as f:
            pending = ""
            while not self.done.is_set():
                chunk = f.readline()
                if not chunk:
                    time.sleep(0.05)  # polling a file for new lines
                    continue
                pending += chunk
                if pending.endswith("\n"):
                    self.command(pending)
                    pending = ""

    def command(self, line):
        words = line.split()
        if not words:
            return
        try:
            if words[0] == "quit":
                self.done.set()
                return
            node = self.node
            if node is None:
                raise ValueError("no edge node known yet: give --node GROUP/EDGE_NODE or wait for an NBIRTH")
            now = psp.get_current_timestamp()
            if words[0] == "rebirth" and len(words) == 1:
                metric = psp.Metric(timestamp=now, name="Node Control/Rebirth", datatype=psp.DataType.BOOLEAN, value=True)
                topic = psp.Topic(group_id=node[0], message_type=psp.MessageType.NCMD, edge_node_id=node[1])
                payload = psp.NCmd(timestamp=now, metrics=(metric,))
            elif words[0] == "write" and len(words) in (4, 5):
                device, name, text = words[1], words[2], words[3]
                datatype = DATATYPES[(words[4] if len(words) == 5 else "double").lower()]
                value = self.value(text, datatype)
                metric = psp.Metric(timestamp=now, name=name, datatype=datatype, value=value)
                topic = psp.Topic(group_id=node[0], message_type=psp.MessageType.DCMD, edge_node_id=node[1], device_id=device)
                payload = psp.DCmd(timestamp=now, metrics=(metric,))
            else:
                raise ValueError("expected 'rebirth', 'write DEVICE METRIC VALUE [TYPE]' or 'quit'")
            self.client.publish(psp.Message(topic=topic, payload=payload, qos=psp.QoS.AT_LEAST_ONCE, retain=False),
                                include_dtypes=True)
            self.out.write({"event": "sent", "command": " ".join(words), "topic": str(topic)})
        except Exception as error:
            self.out.write({"event": "refused", "command": " ".join(words), "error": f"{type(error).__name__}: {error}"})

    @staticmethod
    def value(text, datatype):
        if datatype == psp.DataType.BOOLEAN:
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError(f"not a Boolean: {text!r}")
            return text.lower() in ("true", "1")
        if datatype in (psp.DataType.INT32, psp.DataType.INT64):
            return int(text)
        if datatype == psp.DataType.STRING:
            return text
        return float(text)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--broker", required=True, help="mqtt://host[:port]")
    parser.add_argument("--out", help="file the JSON lines are appended to (default: standard output)")
    parser.add_argument("--node", help="GROUP/EDGE_NODE the commands go to (default: the last NBIRTH's)")
    parser.add_argument("--client-id", help="MQTT client id (default: sparkplug-host-<pid>)")
    parser.add_argument("--rebirth", action="store_true", help="send an NCMD rebirth once connected")
    parser.add_argument("--write", nargs=3, action="append", default=[], metavar=("DEVICE", "METRIC", "VALUE"),
                        help="send a DCMD write (Double) once connected; may be repeated")
    parser.add_argument("--control", help="command lines to follow: a file, or - for standard input")
    parser.add_argument("--duration", type=float, help="exit after this many seconds")
    args = parser.parse_args(argv)
    args.command_lines = (["rebirth"] if args.rebirth else []) + [f"write {d} {m} {v}" for d, m, v in args.write]
    if args.command_lines and not args.node:
        parser.error("--rebirth and --write need --node GROUP/EDGE_NODE")
    out = Output(args.out)
    session = Session(args, out)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: session.done.set())
    session.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

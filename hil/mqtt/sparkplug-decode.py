#!/usr/bin/env python3
"""Decodes Sparkplug B messages with pysparkplug (a third-party Sparkplug library with its own
protobuf decoder) and prints them as one JSON array, for checking what Vigil publishes.

    .build-py/bin/python hil/mqtt/sparkplug-decode.py TOPIC=FILE [TOPIC=FILE ...]
    .build-py/bin/python hil/mqtt/sparkplug-decode.py TOPIC=- < payload.bin

Each argument is a topic and the file holding its payload ('-': standard input). Messages are decoded
in order; an NBIRTH or DBIRTH gives the aliases and datatypes the later NDATA/DDATA of the same node
or device are decoded with (pysparkplug's own alias resolution). The venv: scripts/install-deps.

Per message: topic, message_type, group_id, edge_node_id, device_id, timestamp, seq (null when absent)
and metrics (name, alias, datatype name and number, value, timestamp, is_historical, is_null, and the
properties, read from pysparkplug's generated protobuf module since its Metric leaves them out).
Exit status 0, or 1 with a message on stderr when a message does not decode.
"""
import json
import math
import sys

import pysparkplug as psp
from pysparkplug import _protobuf as pb

DECODERS = {
    psp.MessageType.NBIRTH: psp.NBirth,
    psp.MessageType.DBIRTH: psp.DBirth,
    psp.MessageType.NDATA: psp.NData,
    psp.MessageType.DDATA: psp.DData,
    psp.MessageType.NCMD: psp.NCmd,
    psp.MessageType.DCMD: psp.DCmd,
    psp.MessageType.NDEATH: psp.NDeath,
    psp.MessageType.DDEATH: psp.DDeath,
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


def decode(topic_text, raw, births):
    topic = psp.Topic.from_str(topic_text)
    decoder = DECODERS.get(topic.message_type)
    if decoder is None:
        raise ValueError(f"no payload decoder for {topic.message_type}")
    key = (topic.group_id, topic.edge_node_id, topic.device_id)
    birth = births.get(key) if decoder in (psp.NData, psp.DData, psp.NCmd, psp.DCmd) else None
    payload = decoder.decode(raw, birth=birth)
    if decoder in (psp.NBirth, psp.DBirth):
        births[key] = payload
    raw_payload = pb.Payload.FromString(raw)
    if decoder is psp.NDeath:
        metrics = (payload.bd_seq_metric,)
    else:
        metrics = getattr(payload, "metrics", ())
    out_metrics = []
    for metric, raw_metric in zip(metrics, raw_payload.metrics):
        properties = {}
        if raw_metric.HasField("properties"):
            for k, v in zip(raw_metric.properties.keys, raw_metric.properties.values):
                properties[k] = property_value(v)
        out_metrics.append({
            "name": metric.name,
            "alias": metric.alias,
            "datatype": metric.datatype.name,
            "datatype_id": int(metric.datatype),
            "value": plain(metric.value),
            "timestamp": metric.timestamp,
            "is_historical": metric.is_historical,
            "is_null": metric.is_null,
            "properties": properties,
        })
    return {
        "topic": topic_text,
        "message_type": str(topic.message_type),
        "group_id": topic.group_id,
        "edge_node_id": topic.edge_node_id,
        "device_id": topic.device_id,
        "timestamp": raw_payload.timestamp if raw_payload.HasField("timestamp") else None,
        "seq": getattr(payload, "seq", None) if raw_payload.HasField("seq") else None,
        "metrics": out_metrics,
    }


def main(args):
    if not args or args[0] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return 2
    births = {}
    messages = []
    for arg in args:
        topic_text, sep, path = arg.rpartition("=")
        if not sep or not topic_text:
            print(f"sparkplug-decode: '{arg}' is not TOPIC=FILE", file=sys.stderr)
            return 2
        raw = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
        try:
            messages.append(decode(topic_text, raw, births))
        except Exception as error:  # a decoder's refusal, whatever its type, is the finding
            print(f"sparkplug-decode: {topic_text} ({path}): {type(error).__name__}: {error}", file=sys.stderr)
            return 1
    json.dump(messages, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

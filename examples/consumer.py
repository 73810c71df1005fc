#!/usr/bin/env python3
"""A Python consumer of auditflow's stream, with nothing but the standard library.

Reads as a member of a consumer group (XREADGROUP), turns each entry's flat strings into the typed
entry by the types docs/flow.schema.json gives (integers, booleans, lists; a field that is not there
is null, a marker is left out), prints flows and lifecycle entries as JSON lines, reports loss entries
on stderr, and acknowledges each entry once handled (XACK).

    python3 examples/consumer.py [redis-url] [stream] [group] [consumer]

The few Redis commands it needs are spoken over a socket (RESP2, below); with redis-py, use
`redis.Redis.xreadgroup` and `xack` instead. COUNT=n stops after n entries.
"""
import json
import os
import socket
import sys
from datetime import datetime, timezone
from urllib.parse import urlparse

SCHEMA = os.environ.get("AUDITFLOW_SCHEMA", os.path.join(os.path.dirname(__file__), "..", "docs", "flow.schema.json"))


class RedisError(Exception):
    pass


class Redis:
    """A minimal RESP2 client: a command is an array of bulk strings; replies are read as they come."""

    def __init__(self, url):
        parsed = urlparse(url)
        self.sock = socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379))
        self.reader = self.sock.makefile("rb")
        if parsed.password:
            self.call("AUTH", *([parsed.username] if parsed.username else []), parsed.password)

    def call(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(parts))
        return self.reply()

    def reply(self):
        line = self.reader.readline()
        if not line:
            raise RedisError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else self.reader.read(size + 2)[:-2].decode("utf-8", "replace")
        if kind == b"*":
            size = int(rest)
            return None if size < 0 else [self.reply() for _ in range(size)]
        raise RedisError("unexpected reply %r" % line)


def load_types():
    """Each kind's fields and their JSON types, from the schema file: {kind: {field: (types, required)}}."""
    with open(SCHEMA) as f:
        schema = json.load(f)
    kinds = {}
    for kind, definition in schema["$defs"].items():
        required = set(definition["required"])
        fields = {}
        for name, prop in definition["properties"].items():
            if "const" in prop:  # kind (a string), or a marker (true)
                types = ["boolean" if prop["const"] is True else "string"]
            else:
                types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
            fields[name] = (types, name in required)
        kinds[kind] = fields
    return kinds


def typed_value(types, flat):
    try:
        if "integer" in types:
            return int(flat)
        if "boolean" in types:
            return {"true": True, "false": False}[flat]
        if "array" in types:
            return json.loads(flat)
    except (ValueError, KeyError):
        pass  # not of its type: kept as the string, as typedEntry does
    return flat


def typed_entry(fields, entry_id, kinds):
    """The typed entry, as src/schema/typed.ts's typedEntry gives it."""
    out = {"id": entry_id}
    table = kinds.get(fields.get("kind"), {})
    envelope = kinds["flow"]  # every kind has the same envelope
    for name in ("kind", "boot_id", "seq", "host"):
        if name in fields:
            out[name] = typed_value(envelope[name][0], fields[name])
    for name, (types, required) in table.items():
        if name in out or name == "id":
            continue
        if name in fields:
            out[name] = typed_value(types, fields[name])
        elif required:
            out[name] = None
    for name, value in fields.items():
        out.setdefault(name, value)
    return out


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def main():
    args = sys.argv[1:] + [None] * 4
    url = args[0] or os.environ.get("AUDITFLOW_REDIS_URL", "redis://127.0.0.1:6379")
    stream, group, consumer = args[1] or "auditflow:flows", args[2] or "example", args[3] or "consumer-%d" % os.getpid()
    count = int(os.environ.get("COUNT", "0"))
    kinds = load_types()
    redis = Redis(url)
    try:
        redis.call("XGROUP", "CREATE", stream, group, "0", "MKSTREAM")
    except RedisError as error:
        if not str(error).startswith("BUSYGROUP"):
            raise
    handled = 0
    start = "0"  # this consumer's pending entries first, then '>' (new ones)
    while count == 0 or handled < count:
        # Never more than it will handle: what it reads and does not ack stays pending for this consumer.
        batch = min(100, count - handled) if count else 100
        reply = redis.call("XREADGROUP", "GROUP", group, consumer, "COUNT", batch, "BLOCK", 2000, "STREAMS", stream, start)
        entries = reply[0][1] if reply else []
        if start != ">" and not entries:
            start = ">"
        for entry_id, flat in entries:
            flat = flat or []  # a pending entry trimmed since comes back without fields
            entry = typed_entry(dict(zip(flat[0::2], flat[1::2])), entry_id, kinds)
            if entry.get("kind") == "loss":
                serials = "" if entry["first_serial"] is None else " serials %s-%s" % (entry["first_serial"], entry["last_serial"])
                sys.stderr.write("loss: %s lost (%s) from %s to %s%s on %s\n" % (entry["count"], entry["reason"], iso(entry["first_ts"]), iso(entry["last_ts"]), serials, entry.get("host")))
            elif "kind" in entry:
                sys.stdout.write(json.dumps(entry, ensure_ascii=False) + "\n")
                sys.stdout.flush()
            redis.call("XACK", stream, group, entry_id)
            if start != ">":
                start = entry_id
            handled += 1


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass

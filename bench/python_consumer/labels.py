"""The labels topic read from the beginning up to its end at start, into the feature engine's
terminal state and the label watermark (agent/label_feed.ts, agent/label_join.ts).

The agent reads labels while it scores and holds a chunk back until the watermark covers what its
features read; in a replay whose labels are all in the topic before scoring, reading them all first
gives every row the same labels, hence the same features and the same labels_complete.
"""

import json
import math
import re
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

MAX_SAFE_INTEGER = 2**53 - 1


def _number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _id(x):
    return _number(x) and x == int(x) and 0 <= x <= MAX_SAFE_INTEGER


def _no_constants(name):
    raise ValueError(f"{name} is not JSON")


# The labels encodeLabel writes (no leading zeros, up to 15 digits: exact integers), read without
# a JSON object per record, as the agent's readCanonicalLabel does; anything else is decoded.
CANONICAL = re.compile(
    rb'\{"transaction_id":(?:0|[1-9]\d{0,14}),"customer_id":(?:0|[1-9]\d{0,14}),'
    rb'"terminal_id":(0|[1-9]\d{0,14}),"event_time_ms":(-?(?:0|[1-9]\d{0,14})),'
    rb'"fraud":([01]),"scenario":[0-3]\}'
)


def decode_label_message(value):
    """("label", (terminal, event time, fraud)), ("watermark", ms), or None: the validation of
    transactions/label_record.ts (decodeLabelMessage) over the same JSON."""
    canonical = CANONICAL.fullmatch(value)
    if canonical is not None:
        terminal, event_time_ms, fraud = canonical.groups()
        return ("label", (int(terminal), int(event_time_ms), int(fraud)))
    try:
        v = json.loads(value.decode("utf-8", errors="replace"), parse_constant=_no_constants)
    except ValueError:
        return None
    if not isinstance(v, dict):
        return None
    if "label_watermark_ms" in v:
        w = v["label_watermark_ms"]
        return ("watermark", w) if _number(w) else None
    fraud = v.get("fraud")
    scenario = v.get("scenario", 0)
    if not (
        _id(v.get("transaction_id")) and _id(v.get("customer_id")) and _id(v.get("terminal_id"))
        and _number(v.get("event_time_ms"))
        and _number(fraud) and fraud in (0, 1) and _number(scenario) and scenario in (0, 1, 2, 3)
    ):
        return None
    return ("label", (int(v["terminal_id"]), v["event_time_ms"], int(fraud)))


def read_labels(brokers, topic, engine):
    """Applies every label of the topic to the engine; returns the label watermark (the lowest of
    the partitions' latest watermarks, -inf when a partition has none)."""
    consumer = Consumer({
        "bootstrap.servers": brokers,
        # A group of its own, never committed, as every agent reads all labels.
        "group.id": f"python-consumer.labels.{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
    })
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        if not partitions:
            raise SystemExit(f"python_consumer: missing topic {topic}")
        ends = {}
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
        watermarks = {p: -math.inf for p in partitions}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        while ends:
            for m in consumer.consume(num_messages=10_000, timeout=1.0):
                if m.error():
                    raise SystemExit(f"python_consumer: labels: {m.error()}")
                decoded = decode_label_message(m.value() or b"")
                if decoded is not None and decoded[0] == "label":
                    engine.apply_label(*decoded[1])
                elif decoded is not None:
                    watermarks[m.partition()] = max(watermarks[m.partition()], decoded[1])
                if m.offset() + 1 >= ends.get(m.partition(), math.inf):
                    del ends[m.partition()]
        return min(watermarks.values())
    finally:
        consumer.close()

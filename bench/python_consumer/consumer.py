"""The Python baseline of the scoring agent (issue #16): the agent's work on the transactions
topic with confluent-kafka, numpy and onnxruntime. Same rows, duplicate rule, features, model and
prediction records; at-least-once (offsets are committed after their records are acknowledged).

What it leaves out, because a one-member benchmark group never needs it: state rebuild after a
rebalance or restart, state snapshots, /stats, and scoring while labels are still arriving (it
reads the labels topic to its end first; see labels.py).

Usage: consumer.py --brokers HOST:PORT --topic-prefix P --output-prefix Q --group G
"""

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from features import FEATURE_LIST, DuplicateWindow, FeatureEngine
from labels import read_labels
from records import PredictionEncoder, dlq_headers
from rows import RowState, Transaction, parse_row

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "model" / "fraud-model.onnx"
# agent/scoring_loop.ts: a row is about 60 bytes; a longer message is not one.
MAX_MESSAGE_BYTES = 4096
DAY_MS = 86_400_000


def fail(message):
    print(f"python_consumer: {message}", file=sys.stderr)
    sys.exit(1)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--brokers", default=os.environ.get("FRAUDSTREAM_BROKERS", "127.0.0.1:9092"))
    p.add_argument("--topic-prefix", default="", help="prefix of the transactions and labels topics")
    p.add_argument("--output-prefix", default=None,
                   help="prefix of the predictions and DLQ topics (default: --topic-prefix)")
    p.add_argument("--group", default="fraudstream-python-consumer")
    p.add_argument("--model", default=str(DEFAULT_MODEL))
    p.add_argument("--max-batch", type=int, default=4096, help="most rows per model run")
    p.add_argument("--dedup-window", type=int, default=200_000)
    return p.parse_args()


def open_model(path):
    """The ONNX session as the agent opens it (one thread, sequential, all graph optimisations),
    refused when its feature list or label delay is not this build's (agent/onnx_model.ts)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    except Exception as err:  # ORT raises several types; the user needs only the first line.
        fail(f"cannot load {path}: {str(err).splitlines()[0]}")
    meta = session.get_modelmeta().custom_metadata_map
    if meta.get("fraudstream.feature_list_version") != FEATURE_LIST["version"]:
        fail(f"{path} was not trained on feature list {FEATURE_LIST['version']}")
    if json.loads(meta.get("fraudstream.features", "null")) != [f["name"] for f in FEATURE_LIST["features"]]:
        fail(f"{path}: its feature names differ from feature list {FEATURE_LIST['version']}")
    if float(meta.get("fraudstream.label_delay_ms", "nan")) != FEATURE_LIST["labelDelayMsDefault"]:
        fail(f"{path} was trained with another label delay than the agent's default")
    return session, meta


def main():
    args = parse_args()
    session, meta = open_model(args.model)
    encoder = PredictionEncoder(
        meta.get("fraudstream.model_name", "unnamed"),
        meta.get("fraudstream.model_version", "unversioned"),
        float(meta["fraudstream.threshold"]),
    )
    width = FEATURE_LIST["count"]
    transactions = f"{args.topic_prefix}transactions"
    out_prefix = args.topic_prefix if args.output_prefix is None else args.output_prefix
    predictions, dlq = f"{out_prefix}predictions", f"{out_prefix}transactions.dlq"

    engine = FeatureEngine(FEATURE_LIST["labelDelayMsDefault"])
    watermark = read_labels(args.brokers, f"{args.topic_prefix}labels", engine)
    duplicates = DuplicateWindow(args.dedup_window)
    row_state = RowState()
    tx = Transaction()

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": args.group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    # acks=all like the agent's producer; murmur2 is the Java (and kafkajs) key partitioner, so a
    # prediction lands in the partition the agent would put it in.
    producer = Producer({
        "bootstrap.servers": args.brokers,
        "acks": "all",
        "partitioner": "murmur2_random",
    })
    failures = []

    def delivered(err, _msg):
        if err is not None:
            failures.append(err)

    consumer.subscribe([transactions])
    committed = []
    try:
        while not stopping:
            messages = consumer.consume(num_messages=args.max_batch, timeout=1.0)
            if not messages:
                continue
            rows, scored = [], []
            next_offsets = {}
            for m in messages:
                if m.error():
                    raise KafkaException(m.error())
                next_offsets[m.partition()] = m.offset() + 1
                value = m.value()
                if not value:
                    reason = "empty_line"
                elif len(value) > MAX_MESSAGE_BYTES:
                    reason = "line_too_long"
                else:
                    reason = parse_row(value, row_state, tx)
                if reason is None and duplicates.seen(tx.transaction_id, tx.customer_id):
                    reason = "duplicate_transaction_id"
                if reason is not None:
                    producer.produce(dlq, value=value, key=m.key(), on_delivery=delivered,
                                     headers=dlq_headers(transactions, m.partition(), m.offset(), reason))
                    continue
                rows.append(engine.process(tx))
                cutoff = engine.label_cutoff_day(tx.event_time_ms)
                scored.append((tx.transaction_id, tx.customer_id, tx.event_time_ms,
                               watermark >= cutoff * DAY_MS - 1, m.timestamp()[1]))
            if rows:
                features = np.array(rows, dtype=np.float32).reshape(-1, width)
                scores = session.run(["fraud_probability"], {"features": features})[0]
                now = int(time.time() * 1000)
                for (tid, customer, event_time, complete, input_ms), score in zip(scored, scores.tolist()):
                    key, value = encoder.encode(tid, customer, score, event_time, complete, now - input_ms)
                    producer.produce(predictions, value=value, key=key, on_delivery=delivered)
            producer.flush()
            if failures:
                fail(f"producing to {predictions}: {failures[0]}")
            committed = [TopicPartition(transactions, p, o) for p, o in next_offsets.items()]
            consumer.commit(offsets=committed, asynchronous=True)
        if committed:
            # The last asynchronous commit may still be in flight: this one is waited for.
            consumer.commit(offsets=committed, asynchronous=False)
    finally:
        consumer.close()


if __name__ == "__main__":
    try:
        main()
    except KafkaException as err:
        fail(str(err))

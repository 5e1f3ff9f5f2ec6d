"""The agent's output records (agent/prediction_records.ts, agent/dlq_records.ts) byte for byte:
the prediction value is JSON text written the way JavaScript writes numbers and dates."""

import datetime
import json
import math

DAY_MS = 86_400_000


def js_number(x):
    """String(x) for a JavaScript number: the shortest round-trip digits (which repr also picks),
    laid out by ECMAScript's Number::toString rules instead of Python's."""
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    if x < 0:
        return "-" + js_number(-x)
    mantissa, _, exponent = repr(float(x)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    written = whole + fraction
    significant = written.lstrip("0")
    # n: the decimal point's place counted from the first significant digit (ECMAScript's n).
    n = len(whole) + int(exponent or 0) - (len(written) - len(significant))
    digits = significant.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    e = n - 1
    return digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))


class PredictionEncoder:
    """Key = transaction id; value = the agent's JSON, field for field, in its order."""

    def __init__(self, model_name, model_version, threshold):
        self.threshold = threshold
        self.threshold_text = js_number(threshold)
        # JSON.stringify, then every non-ASCII character escaped, as asciiJsonString does.
        self.model_json = json.dumps(f"{model_name}@{model_version}", ensure_ascii=True)
        self.day = None
        self.day_prefix = ""

    def iso_time(self, ms):
        """new Date(ms).toISOString(), from integers (no float seconds)."""
        day = ms // DAY_MS
        if day != self.day:
            self.day = day
            self.day_prefix = (datetime.date(1970, 1, 1) + datetime.timedelta(days=day)).isoformat() + "T"
        t = ms - day * DAY_MS
        s = t // 1000
        return f"{self.day_prefix}{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{t % 1000:03d}Z"

    def encode(self, transaction_id, customer_id, score, event_time_ms, labels_complete, latency_ms):
        key = str(transaction_id)
        value = (
            f'{{"transaction_id":{key},"customer_id":{customer_id},"score":{js_number(score)},'
            f'"fraud":{"true" if score >= self.threshold else "false"},'
            f'"threshold":{self.threshold_text},"model":{self.model_json},'
            f'"event_time":"{self.iso_time(event_time_ms)}",'
            f'"labels_complete":{"true" if labels_complete else "false"},"latency_ms":{latency_ms}}}'
        )
        return key.encode(), value.encode()


def dlq_headers(topic, partition, offset, reason):
    """The DLQ record's headers; its key and value are the input record's, untouched."""
    return [
        ("fraudstream.reason", reason),
        ("fraudstream.source", f"{topic}/{partition}/{offset}"),
        ("fraudstream.source.topic", topic),
        ("fraudstream.source.partition", str(partition)),
        ("fraudstream.source.offset", str(offset)),
    ]

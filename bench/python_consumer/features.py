"""features/feature_engine.ts and transactions/duplicate_window.ts in Python: the same 16 features
(features/feature_list.ts) from the same state rules, so a row gets the same float32 vector.

Customer windows are whole UTC days in a ring of 31 day buckets (count, cents) per customer, with
the engine's out-of-order rules; terminal windows read whole days of labels before the label
cutoff day dayOf(t - label delay). The engine's arithmetic is kept operation for operation
(integer cents, one division for a mean) so the doubles, hence the float32 values, are equal.
"""

import json
import math
from pathlib import Path

import numpy as np

# What the trainer reads too: generated from features/feature_list.ts (deno task features:list).
FEATURE_LIST = json.loads((Path(__file__).resolve().parents[2] / "features" / "feature_list.json").read_text())
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
CUSTOMER_WINDOW_DAYS = tuple(FEATURE_LIST["customerWindowDays"])
TERMINAL_WINDOW_DAYS = tuple(FEATURE_LIST["terminalWindowDays"])
CUSTOMER_RING = max(CUSTOMER_WINDOW_DAYS) + 1
TERMINAL_SPAN = max(TERMINAL_WINDOW_DAYS)
NIGHT_BEFORE_HOUR = 6
MAX_DAY_COUNT = 0xFFFF
MAX_DAY_CENTS = 0xFFFF_FFFF
NO_TERMINAL = [0, 0, 0, 0, 0, 0]
WINDOW_DAYS_KEPT = 8


def js_round(x):
    """Math.round: halves round up, not to even as Python's round() does."""
    r = math.floor(x)
    return r + 1 if x - r >= 0.5 else r


class Customer:
    __slots__ = ("last", "counts", "cents")

    def __init__(self, event_time_ms):
        self.last = event_time_ms
        self.counts = [0] * CUSTOMER_RING
        self.cents = [0] * CUSTOMER_RING


class FeatureEngine:
    def __init__(self, label_delay_ms):
        self.label_delay_ms = label_delay_ms
        self.customers = {}
        # Labels by day, then terminal: [count, frauds]. Nothing is released: the consumer reads
        # every label before it scores, and a data set of months fits in memory.
        self.term_days = {}
        self.term_index = {}
        # Per cutoff day, the six terminal values of every terminal (by index): a batch mixes
        # partitions a few days apart, so the recent days are kept, not only the last one.
        self.term_windows = {}
        self.day_counts = {}

    def label_cutoff_day(self, event_time_ms):
        return (event_time_ms - self.label_delay_ms) // DAY_MS

    def apply_label(self, terminal_id, event_time_ms, fraud):
        day = math.floor(event_time_ms / DAY_MS)
        self.term_index.setdefault(terminal_id, len(self.term_index))
        counts = self.term_days.setdefault(day, {}).setdefault(terminal_id, [0, 0])
        counts[0] += 1
        if fraud:
            counts[1] += 1
        self.term_windows.clear()
        self.day_counts.clear()

    def process(self, tx):
        """Adds tx to its customer's state, then returns its 16 features."""
        t = tx.event_time_ms
        day = t // DAY_MS
        cents_of_tx = js_round(tx.amount * 100)
        c = self.customers.get(tx.customer_id)
        if c is None:
            c = self.customers[tx.customer_id] = Customer(t)
        newest = c.last // DAY_MS
        if t >= c.last:
            if day > newest:
                for d in range(newest + 1, newest + 1 + min(day - newest, CUSTOMER_RING)):
                    c.counts[d % CUSTOMER_RING] = 0
                    c.cents[d % CUSTOMER_RING] = 0
            c.last = t
        elif day <= newest - CUSTOMER_RING:
            # Too old for the ring: scored as the customer's only transaction, not added.
            return self._write(tx, day, c, 1, cents_of_tx)
        i = day % CUSTOMER_RING
        c.counts[i] = min(c.counts[i] + 1, MAX_DAY_COUNT)
        c.cents[i] = min(c.cents[i] + cents_of_tx, MAX_DAY_CENTS)
        return self._write(tx, day, c, 0, 0)

    def _write(self, tx, day, c, count, cents):
        hour = (tx.event_time_ms - day * DAY_MS) // HOUR_MS
        weekday = (day + 4) % 7  # 1970-01-01 was a Thursday
        out = [tx.amount, 1 if weekday in (0, 6) else 0, 1 if hour < NIGHT_BEFORE_HOUR else 0, hour]
        # Bucket k of these is day - k; the ring holds days newest-30 .. newest, which are
        # k = first .. first+30 (first is 0 in order, negative for a late transaction).
        r = day % CUSTOMER_RING
        counts = c.counts[r::-1] + c.counts[:r:-1]
        cents_by_day = c.cents[r::-1] + c.cents[:r:-1]
        first = day - c.last // DAY_MS
        lo = max(first, 0)
        for w in CUSTOMER_WINDOW_DAYS:
            # Not below 0: a negative slice end would count from the ring's other end.
            hi = max(min(w, first + CUSTOMER_RING - 1) + 1, 0)
            n = count + sum(counts[lo:hi])
            out.append(n)
            out.append((cents + sum(cents_by_day[lo:hi])) / n / 100 if n > 0 else 0)
        i = self.term_index.get(tx.terminal_id)
        cutoff_day = (tx.event_time_ms - self.label_delay_ms) // DAY_MS
        windows = self.term_windows.get(cutoff_day)
        if windows is None:
            windows = self._terminal_windows(cutoff_day)
        out.extend(NO_TERMINAL if i is None else windows[i])
        return out

    def _terminal_windows(self, cutoff_day):
        """Every terminal's six window values for rows of this cutoff day, at once with numpy;
        counts are integers and each risk is one division, as in the engine."""
        days = np.stack([self._day_counts(cutoff_day - k) for k in range(1, TERMINAL_SPAN + 1)])
        columns = []
        for w in TERMINAL_WINDOW_DAYS:
            c, f = days[:w, 0].sum(axis=0), days[:w, 1].sum(axis=0)
            columns.append(c.astype(np.float64))
            columns.append(np.divide(f, c, out=np.zeros(len(c)), where=c > 0))
        if len(self.term_windows) >= WINDOW_DAYS_KEPT:
            self.term_windows.clear()
        windows = self.term_windows[cutoff_day] = np.column_stack(columns).tolist()
        return windows

    def _day_counts(self, day):
        """A day's labels as two arrays by terminal index (counts, frauds), built once a day."""
        arrays = self.day_counts.get(day)
        if arrays is None:
            arrays = np.zeros((2, len(self.term_index)), dtype=np.int64)
            for terminal, (c, f) in self.term_days.get(day, {}).items():
                arrays[0, self.term_index[terminal]] = c
                arrays[1, self.term_index[terminal]] = f
            self.day_counts[day] = arrays
        return arrays


class DuplicateWindow:
    """Two generations of transaction id -> its customers (a set only for an id reused by another
    customer); the old one is dropped when the young one holds capacity/2 pairs, exactly as
    transactions/duplicate_window.ts."""

    def __init__(self, capacity):
        self.half = max(1, capacity // 2)
        self.young = {}
        self.old = {}
        self.young_pairs = 0

    @staticmethod
    def _holds(entry, customer_id):
        return entry == customer_id or (isinstance(entry, set) and customer_id in entry)

    def seen(self, transaction_id, customer_id):
        if self._holds(self.young.get(transaction_id), customer_id) or self._holds(
                self.old.get(transaction_id), customer_id):
            return True
        if self.young_pairs >= self.half:
            self.old = self.young
            self.young = {}
            self.young_pairs = 0
        known = self.young.get(transaction_id)
        if known is None:
            self.young[transaction_id] = customer_id
        elif isinstance(known, set):
            known.add(customer_id)
        else:
            self.young[transaction_id] = {known, customer_id}
        self.young_pairs += 1
        return False

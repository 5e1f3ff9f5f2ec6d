"""features/feature_engine.ts and transactions/duplicate_window.ts in Python: the same 16 features
(features/feature_list.ts) from the same state rules, so a row gets the same float32 vector.

Customer windows are whole UTC days in a ring of 31 day buckets (count, cents) per customer, with
the engine's out-of-order rules; terminal windows read whole days of labels before the label
cutoff day dayOf(t - label delay). The engine's arithmetic is kept operation for operation
(integer cents, one division for a mean) so the doubles, hence the float32 values, are equal.
"""

import math

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
CUSTOMER_WINDOW_DAYS = (1, 7, 30)
TERMINAL_WINDOW_DAYS = (1, 7, 30)
CUSTOMER_RING = max(CUSTOMER_WINDOW_DAYS) + 1
TERMINAL_SPAN = max(TERMINAL_WINDOW_DAYS)
NIGHT_BEFORE_HOUR = 6
MAX_DAY_COUNT = 0xFFFF
MAX_DAY_CENTS = 0xFFFF_FFFF


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
        # Terminal windows of one cutoff day, per terminal: rows mostly share their cutoff day.
        self.term_cutoff = None
        self.term_windows = {}

    def label_cutoff_day(self, event_time_ms):
        return (event_time_ms - self.label_delay_ms) // DAY_MS

    def apply_label(self, terminal_id, event_time_ms, fraud):
        day = math.floor(event_time_ms / DAY_MS)
        counts = self.term_days.setdefault(day, {}).setdefault(terminal_id, [0, 0])
        counts[0] += 1
        if fraud:
            counts[1] += 1
        self.term_cutoff = None

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
        # Days newest-30 .. newest are held; day - k is read for k = 0 .. 30.
        first = day - c.last // DAY_MS
        for k in range(TERMINAL_SPAN + 1):
            if first <= k < first + CUSTOMER_RING:
                count += c.counts[(day - k) % CUSTOMER_RING]
                cents += c.cents[(day - k) % CUSTOMER_RING]
            if k in CUSTOMER_WINDOW_DAYS:
                out.append(count)
                out.append(cents / count / 100 if count > 0 else 0)
        out.extend(self._terminal(tx.terminal_id, (tx.event_time_ms - self.label_delay_ms) // DAY_MS))
        return out

    def _terminal(self, terminal_id, cutoff_day):
        if cutoff_day != self.term_cutoff:
            self.term_cutoff = cutoff_day
            self.term_windows = {}
        windows = self.term_windows.get(terminal_id)
        if windows is None:
            windows = []
            count = fraud = 0
            for k in range(1, TERMINAL_SPAN + 1):
                counts = self.term_days.get(cutoff_day - k, {}).get(terminal_id)
                if counts is not None:
                    count += counts[0]
                    fraud += counts[1]
                if k in TERMINAL_WINDOW_DAYS:
                    windows.append(count)
                    windows.append(fraud / count if count > 0 else 0)
            self.term_windows[terminal_id] = windows
        return windows


class DuplicateWindow:
    """Two generations of transaction id -> customer id; the old one is dropped when the young one
    holds capacity/2 ids, exactly as transactions/duplicate_window.ts."""

    def __init__(self, capacity):
        self.half = max(1, capacity // 2)
        self.young = {}
        self.old = {}

    def seen(self, transaction_id, customer_id):
        known = self.young.get(transaction_id)
        if known is None:
            known = self.old.get(transaction_id)
        if known == customer_id:
            return True
        if len(self.young) >= self.half:
            self.old = self.young
            self.young = {}
        self.young[transaction_id] = customer_id
        return False

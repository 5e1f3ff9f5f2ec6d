"""The agent's row rules (transactions/parse_row.ts, csv_row.ts, json_row.ts, row_fields.ts,
time_plausibility.ts) in Python: the same outcomes, repairs and rejects, byte for byte.

A row is the nine retrospective fields, as a CSV line or a flat JSON object; parse_row returns
None and fills a Transaction, or returns "header" or the agent's reject reason.
"""

MAX_DIGITS = 15
MS_PER_DAY = 86_400_000
PLAUSIBLE_FROM_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
PLAUSIBLE_UNTIL_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z
FIELD_COUNT = 9


class Transaction:
    __slots__ = ("transaction_id", "event_time_ms", "customer_id", "terminal_id", "amount")

    def __init__(self):
        self.transaction_id = 0
        self.event_time_ms = 0
        self.customer_id = 0
        self.terminal_id = 0
        self.amount = 0.0


class RowState:
    """Per-stream state: the origin tx_time_seconds counts from, learnt from the first good row,
    from which a missing tx_datetime is derived (as in row_fields.ts)."""

    __slots__ = ("origin_ms",)

    def __init__(self):
        self.origin_ms = None


def read_uint(b):
    """Unsigned decimal integer of 1..15 ASCII digits, or -1."""
    if 0 < len(b) <= MAX_DIGITS and b.isdigit():
        return int(b)
    return -1


def read_signed_int(b):
    """Optionally negative integer, or None."""
    n = read_uint(b[1:]) if b[:1] == b"-" else read_uint(b)
    if n < 0:
        return None
    return -n if b[:1] == b"-" else n


def read_decimal(b):
    """Non-negative decimal (70.91, 5, 5.0, .5), or -1. The digits as one exact integer divided once
    by a power of ten: both languages round that division the same way (IEEE)."""
    whole, dot, fraction = b.partition(b".")
    digits = whole + fraction
    if b"." in fraction or len(digits) == 0 or len(digits) > MAX_DIGITS or not digits.isdigit():
        return -1
    mantissa = int(digits)
    return mantissa / 10 ** len(fraction) if fraction else mantissa


def days_from_civil(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def days_in_month(year, month):
    if month == 2:
        return 29 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 28
    return 30 if month in (4, 6, 9, 11) else 31


def read_datetime(b):
    """"YYYY-MM-DD HH:MM:SS" (or with 'T') as UTC epoch ms, or None."""
    if len(b) != 19 or b[4] != 0x2D or b[7] != 0x2D or b[10] not in (0x20, 0x54):
        return None
    if b[13] != 0x3A or b[16] != 0x3A:
        return None
    year, month, day = read_uint(b[0:4]), read_uint(b[5:7]), read_uint(b[8:10])
    hour, minute, second = read_uint(b[11:13]), read_uint(b[14:16]), read_uint(b[17:19])
    if (
        year < 0 or month < 1 or month > 12 or day < 1 or day > days_in_month(year, month)
        or hour < 0 or hour > 23 or minute < 0 or minute > 59 or second < 0 or second > 59
    ):
        return None
    return days_from_civil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000


def apply_fields(f, st, tx):
    """The nine field values (bytes, b"" when absent) into tx with the cleaning rules; the order of
    the checks is the agent's, so a row with several faults gets the same reason."""
    tid = read_uint(f[0])
    if tid < 0:
        return "bad_transaction_id"
    raw = f[2]
    customer = read_uint(raw[1:]) if raw[:1] == b"-" else read_uint(raw)
    if customer < 0:
        return "bad_customer_id"
    terminal = 0
    if f[3]:
        terminal = read_uint(f[3])
        if terminal < 0:
            return "bad_terminal_id"
    amount = read_decimal(f[4])
    if amount < 0:
        return "bad_amount"
    seconds = read_uint(f[5])
    if seconds < 0:
        return "bad_time_seconds"
    if f[6] and read_signed_int(f[6]) is None:
        return "bad_time_days"
    if read_uint(f[7]) not in (0, 1):
        return "bad_fraud"
    if not 0 <= read_uint(f[8]) <= 3:
        return "bad_scenario"
    if f[1]:
        event_time_ms = read_datetime(f[1])
        if event_time_ms is None:
            return "bad_datetime"
    elif st.origin_ms is None:
        return "missing_datetime"
    else:
        event_time_ms = st.origin_ms + seconds * 1000
    origin = event_time_ms - seconds * 1000
    # Checked before the origin is learnt from the row, as time_plausibility.ts says why.
    if not (PLAUSIBLE_FROM_MS <= event_time_ms < PLAUSIBLE_UNTIL_MS and origin >= PLAUSIBLE_FROM_MS):
        return "implausible_time"
    if st.origin_ms is None:
        st.origin_ms = origin
    tx.transaction_id = tid
    tx.event_time_ms = event_time_ms
    tx.customer_id = customer
    tx.terminal_id = terminal
    tx.amount = amount
    return None


def parse_csv_row(b, st, tx):
    if b[-1:] == b"\r":
        b = b[:-1]
    if not b:
        return "empty_line"
    if b[0] == 0x23:
        return "header"
    fields = b.split(b",")
    if len(fields) != FIELD_COUNT:
        return "bad_field_count"
    return apply_fields(fields, st, tx)


JSON_KEYS = {
    b"tranaction_id": 0, b"transaction_id": 0, b"tx_datetime": 1, b"customer_id": 2,
    b"terminal_id": 3, b"tx_amount": 4, b"tx_time_seconds": 5, b"tx_time_days": 6,
    b"tx_fraud": 7, b"tx_fraud_scenario": 8,
}
JSON_SPACE = b" \n\r\t"


def _skip_space(b, i):
    while i < len(b) and b[i] in JSON_SPACE:
        i += 1
    return i


def _string_end(b, i):
    """Index of the closing quote of a string whose content starts at i, or -1."""
    while i < len(b):
        if b[i] == 0x22:
            return i
        i += 2 if b[i] == 0x5C else 1
    return -1


def _nested_end(b, i):
    """Index just past the object or array opening at i, or -1."""
    depth = 0
    while i < len(b):
        c = b[i]
        if c == 0x22:
            i = _string_end(b, i + 1)
            if i < 0:
                return -1
        elif c in b"{[":
            depth += 1
        elif c in b"}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def parse_json_row(b, st, tx):
    """json_row.ts's byte scanner: string values are taken raw (no unescaping), null is an empty
    field, nested values are kept as text (and fail the field rules), unknown keys are ignored."""
    fields = [b""] * FIELD_COUNT
    i = _skip_space(b, b.index(b"{") + 1)
    if i < len(b) and b[i] == 0x7D:
        i += 1
    else:
        while True:
            if i >= len(b) or b[i] != 0x22:
                return "bad_json"
            key_end = _string_end(b, i + 1)
            if key_end < 0:
                return "bad_json"
            key = b[i + 1:key_end]
            i = _skip_space(b, key_end + 1)
            if i >= len(b) or b[i] != 0x3A:
                return "bad_json"
            i = _skip_space(b, i + 1)
            if i >= len(b):
                return "bad_json"
            if b[i] == 0x22:
                end = _string_end(b, i + 1)
                if end < 0:
                    return "bad_json"
                value, i = b[i + 1:end], end + 1
            elif b[i] in b"{[":
                end = _nested_end(b, i)
                if end < 0:
                    return "bad_json"
                value, i = b[i:end], end
            else:
                start = i
                while i < len(b) and b[i] not in b",}" and b[i] not in JSON_SPACE:
                    i += 1
                value = b[start:i]
                if value == b"null":
                    value = b""
            field = JSON_KEYS.get(key)
            if field is not None:
                fields[field] = value
            i = _skip_space(b, i)
            if i >= len(b):
                return "bad_json"
            if b[i] == 0x7D:
                i += 1
                break
            if b[i] != 0x2C:
                return "bad_json"
            i = _skip_space(b, i + 1)
    if _skip_space(b, i) != len(b):
        return "bad_json"
    return apply_fields(fields, st, tx)


def parse_row(b, st, tx):
    """A JSON object when the row starts (after spaces and tabs) with '{', else a CSV line."""
    if b.lstrip(b" \t")[:1] == b"{":
        return parse_json_row(b, st, tx)
    return parse_csv_row(b, st, tx)

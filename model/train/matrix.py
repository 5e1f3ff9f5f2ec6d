"""Reads the feature matrix that `fraudstream features` writes (features/feature_matrix.ts).

The features themselves are computed only by the TypeScript feature engine; this module just
maps its output, so training and serving cannot drift apart.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"FSMATRIX"
DAY_MS = 86_400_000


@dataclass
class Matrix:
    header: dict
    X: np.ndarray  # float32 [rows, F], C-contiguous
    y: np.ndarray  # uint8 [rows]
    event_time_ms: np.ndarray  # float64 [rows]
    customer_id: np.ndarray
    terminal_id: np.ndarray
    transaction_id: np.ndarray
    scenario: np.ndarray

    @property
    def day(self) -> np.ndarray:
        """Whole UTC days since the epoch, the unit of the time split."""
        return np.floor_divide(self.event_time_ms, DAY_MS).astype(np.int64)

    @property
    def feature_names(self) -> list[str]:
        return list(self.header["features"])


def read_matrix(path: str | Path) -> Matrix:
    path = Path(path)
    with path.open("rb") as f:
        prefix = f.read(12)
        if len(prefix) < 12 or prefix[:8] != MAGIC:
            raise ValueError(f"{path}: not a fraudstream feature matrix (binary format)")
        (header_bytes,) = struct.unpack("<I", prefix[8:12])
        header = json.loads(f.read(header_bytes - 12).decode("utf-8"))
    d = header["dtype"]
    dtype = np.dtype(
        {"names": d["names"], "formats": d["formats"], "offsets": d["offsets"], "itemsize": d["itemsize"]}
    )
    records = np.fromfile(path, dtype=dtype, count=header["rows"], offset=header_bytes)
    if len(records) != header["rows"]:
        raise ValueError(f"{path}: truncated ({len(records)} of {header['rows']} rows)")
    return Matrix(
        header=header,
        X=np.ascontiguousarray(records["features"], dtype=np.float32),
        y=records["fraud"].astype(np.uint8),
        event_time_ms=records["event_time_ms"].copy(),
        customer_id=records["customer_id"].copy(),
        terminal_id=records["terminal_id"].copy(),
        transaction_id=records["transaction_id"].copy(),
        scenario=records["scenario"].copy(),
    )

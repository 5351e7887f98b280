"""fpps.eval: PFQABench records, the bundled mini benchmark, and (elsewhere) the evaluation runner.

`records` is the one record model and validator that every loader (calibration, evaluation, the
server) uses; `minibench` builds and measures the bundled `data/pfqabench-mini.jsonl`.
"""

from .records import (QA, Record, RecordError, bundled_path, dump_record, iter_records,
                      load_records, validate_record)

__all__ = [
    "QA", "Record", "RecordError", "bundled_path", "dump_record", "iter_records",
    "load_records", "validate_record",
]

"""A record with field errors, kept with its valid fields only, for the cross-checks.

Without it, one wrong field (a misspelt strand) hides the file's other problems (an unknown
venue) until the next run. The partial record is built field by field with each field's own
validators; fields that failed, or are missing, are simply absent (``getattr(record, name,
default)`` in the checks). It is never published: only check.py sees it.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from .schema import Record


@lru_cache(maxsize=None)
def _adapter(model: type[Record], name: str) -> TypeAdapter:
    info = model.model_fields[name]
    annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(annotation)


def partial_record(model: type[Record], data: Any, failed: set) -> Record:
    """``model`` built from the fields of ``data`` that are valid on their own."""
    values = {}
    if isinstance(data, dict):
        for name in model.model_fields:
            if name in failed or name not in data:
                continue
            try:
                values[name] = _adapter(model, name).validate_python(data[name])
            except ValidationError:
                continue
    return model.model_construct(_fields_set=set(values), **values)

"""A record with field errors, kept with its valid fields only, for the cross-checks.

Without it, one wrong field (a misspelt strand) hides the file's other problems (an unknown
venue) until the next run. The partial record is built field by field with each field's own
validators; fields that failed, or are missing, are simply absent (``getattr(record, name,
default)`` in the checks). It is never published: only check.py sees it.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError



@lru_cache(maxsize=None)
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter:
    info = model.model_fields[name]
    annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(annotation)


@lru_cache(maxsize=None)
def _item_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The model of each item of a list field (a course's sessions), else None."""
    annotation = model.model_fields[name].annotation
    if get_origin(annotation) is list:
        (item,) = get_args(annotation) or (None,)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
    return None


def partial_record(model: type[BaseModel], data: Any, failed: set) -> BaseModel:
    """``model`` built from the fields of ``data`` that are valid on their own. A list of
    groups with one bad item (a session with an impossible date) keeps every item, each with
    its own valid fields, so the other sessions' venues are still checked, at their places."""
    values = {}
    if isinstance(data, dict):
        for name in model.model_fields:
            if name not in data:
                continue
            item = _item_model(model, name)
            if item is not None and isinstance(data[name], list):
                values[name] = [partial_record(item, entry, set()) for entry in data[name]]
                continue
            if name in failed:
                continue
            try:
                values[name] = _adapter(model, name).validate_python(data[name])
            except ValidationError:
                continue
    return model.model_construct(_fields_set=set(values), **values)

"""Reading query parameters without re-deriving their shape on every request.

For each query, header or cookie parameter of a route, on every request, FastAPI decides from
the parameter's type annotation whether it takes a list (``field_annotation_is_sequence``:
several ``typing`` introspection calls, twice per parameter). The answer depends on the
annotation only, and the annotations are those of the routes, fixed when the application is
made: the answer is remembered per annotation. (A list of the queue takes some twenty
parameters: this was a sixth of the work of such a request.)
"""

from __future__ import annotations

import functools
from typing import Any

import fastapi.dependencies.utils as fastapi_params

_original = fastapi_params.field_annotation_is_sequence


@functools.lru_cache(maxsize=2048)
def _remembered(annotation: Any) -> bool:
    return _original(annotation)


def _field_annotation_is_sequence(annotation: Any) -> bool:
    try:
        return _remembered(annotation)
    except TypeError:  # an annotation that cannot be a key: decided again
        return _original(annotation)


def install() -> None:
    """Remember the answers from now on (idempotent)."""
    fastapi_params.field_annotation_is_sequence = _field_annotation_is_sequence

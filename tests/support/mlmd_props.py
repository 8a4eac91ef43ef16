"""Custom properties read so that an absent one fails the test instead of reading as 0 or "".

MLMD's proto maps return a default ``Value`` for a missing key: ``x.int_value >= 0``
passes whether or not the component recorded anything. :func:`recorded` asserts the
key is there first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class RecordedProperties(Mapping):
    """The custom properties of one MLMD artifact or execution; a missing key is a failed assertion."""

    def __init__(self, item: Any) -> None:
        self._item = item
        self._properties = item.custom_properties

    def __getitem__(self, key: str) -> Any:
        assert key in self._properties, (
            f"{type(self._item).__name__} {getattr(self._item, 'id', '?')} has no custom property {key!r}; "
            f"it has {sorted(self._properties)}")
        return self._properties[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._properties)

    def __len__(self) -> int:
        return len(self._properties)


def recorded(item: Any) -> RecordedProperties:
    return RecordedProperties(item)


def tfx_property(artifact: Any, key: str) -> Any:
    """A TFX artifact's custom property; TFX's ``get_*_custom_property`` also returns 0 or "" when absent."""
    assert artifact.has_custom_property(key), f"{artifact.type_name} has no custom property {key!r}"
    return artifact.get_custom_property(key)

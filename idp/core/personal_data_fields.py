"""Model attributes that hold personal data sealed (idp.core.personal_data_cipher), so domain
code reads and compares them as plain strings.

``doc_number = personal_data("doc_number", bound_to="sub")`` next to the mapped columns
``doc_number_sealed`` (the ciphertext) and, for a value looked up, ``doc_number_index`` (its
blind index):

- ``person.doc_number`` opens the sealed value; assigning seals it and sets the index;
- ``Person.doc_number == number`` in a query compares the index with the number's index;
- a bulk ``UPDATE`` naming ``doc_number`` is refused (it could only write plain text).

The associated data of each value is ``table.column`` and the row's ``bound_to`` attribute (an
identifier fixed at creation), so a ciphertext moved to another row does not open.  A new row's
values are sealed at flush when that identifier was not known yet.

:class:`BlindIndex` is a column type for a value only ever looked up, never read back (the
phone an SMS code went to): the database holds the index only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, overload

from flask import has_app_context
from sqlalchemy import String, event
from sqlalchemy.ext.hybrid import Comparator, hybrid_property
from sqlalchemy.orm import Mapper, QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from idp.core.personal_data_cipher import current_personal_data_cipher as cipher

#: Where an instance keeps values assigned before its row identifier was set.
_UNSEALED = "_idp_unsealed"
#: Where an instance keeps the values it opened, with the sealed value each came from.
_OPENED = "_idp_opened"


@dataclass(frozen=True)
class PersonalField:
    """One sealed column, as ``idp pii rotate-key`` and the migration see it."""

    table: str
    column: str
    #: The row attribute (a column of the same name) whose value is in the associated data.
    bound_to: str
    searchable: bool

    def associated(self, binding: object) -> str:
        return f"{self.table}.{self.column}\x00{binding}"


class _SealedComparator(Comparator[str]):
    """A personal field in a query: never compared by its sealed value (random each time), and
    never set by a bulk ``UPDATE``, which cannot seal per row."""

    def _bulk_update_tuples(self, value: Any) -> Any:
        raise TypeError(f"{self.expression} holds sealed personal data: assign it on loaded rows, not in a bulk UPDATE")

    def __eq__(self, other: Any) -> ColumnElement[bool]:  # type: ignore[override]
        raise TypeError(f"{self.expression} holds sealed personal data and has no blind index to compare")

    __ne__ = __eq__  # type: ignore[assignment]


class _IndexComparator(_SealedComparator):
    """``Model.field == value``: the index column against the value's blind index."""

    def __init__(self, index: QueryableAttribute[str]) -> None:
        super().__init__(index)
        self.index = index

    def __eq__(self, other: Any) -> ColumnElement[bool]:  # type: ignore[override]
        return self.index.is_(None) if other is None else self.index == cipher().blind_index(other)

    def __ne__(self, other: Any) -> ColumnElement[bool]:  # type: ignore[override]
        return self.index.is_not(None) if other is None else self.index != cipher().blind_index(other)


def _index(instance: Any, field: PersonalField, value: str | None) -> None:
    if field.searchable:
        setattr(instance, f"{field.column}_index", None if value is None else cipher().blind_index(value))


def _seal(instance: Any, field: PersonalField, value: str | None) -> None:
    sealed = None if value is None else cipher().seal(
        value, field.associated(getattr(instance, field.bound_to)))
    setattr(instance, f"{field.column}_sealed", sealed)
    instance.__dict__.setdefault(_OPENED, {})[field.column] = (sealed, value)


def _open(instance: Any, field: PersonalField) -> str | None:
    """The value, opened once per sealed value an instance holds: an object loaded in a request
    still reads after it (as plain columns do), and a template reading a name twice decrypts once."""
    token = getattr(instance, f"{field.column}_sealed")
    opened = instance.__dict__.setdefault(_OPENED, {})
    cached = opened.get(field.column)
    if cached is not None and cached[0] == token:
        return cached[1]
    value = None if token is None else cipher().open(
        token, field.associated(getattr(instance, field.bound_to)))
    opened[field.column] = (token, value)
    return value


@overload
def personal_data(column: str, *, bound_to: str, searchable: bool = ...,
                  nullable: Literal[False] = ...) -> hybrid_property[str]: ...


@overload
def personal_data(column: str, *, bound_to: str, searchable: bool = ...,
                  nullable: Literal[True]) -> hybrid_property[str | None]: ...


def personal_data(column: str, *, bound_to: str, searchable: bool = True, nullable: bool = False) -> Any:
    """The attribute for ``column`` of the model it is assigned in (see the module docstring);
    ``nullable`` only types it (``str | None``)."""

    def field_of(owner: Any) -> PersonalField:
        return PersonalField(owner.__table__.name, column, bound_to, searchable)

    def get(self) -> str | None:
        unsealed = self.__dict__.get(_UNSEALED, {})
        if column in unsealed:
            return unsealed[column]
        return _open(self, field_of(type(self)))

    def set(self, value: str | None) -> None:
        field = field_of(type(self))
        if not has_app_context():  # a row made before the app is at hand: all done at insert
            self.__dict__.setdefault(_UNSEALED, {})[column] = value
            return
        _index(self, field, value)
        if getattr(self, field.bound_to) is None:
            self.__dict__.setdefault(_UNSEALED, {})[column] = value
        else:
            self.__dict__.get(_UNSEALED, {}).pop(column, None)
            _seal(self, field, value)

    attribute: Any = hybrid_property(get, set)
    if searchable:
        attribute = attribute.comparator(lambda cls: _IndexComparator(getattr(cls, f"{column}_index")))
    else:
        attribute = attribute.comparator(lambda cls: _SealedComparator(getattr(cls, f"{column}_sealed")))
    attribute.personal_column = column
    attribute.personal_options = (bound_to, searchable)
    return attribute


#: Each model class's personal fields, found once: every row any query loads asks, and looking
#: through a model's attributes cost a refreshed token an eighth of its CPU (bench/README.md).
_FIELDS_OF: dict[Any, tuple[PersonalField, ...]] = {}


def personal_fields(cls: Any) -> tuple[PersonalField, ...]:
    """The personal fields of a model class (none for most)."""
    if (fields := _FIELDS_OF.get(cls)) is None:
        fields = _FIELDS_OF[cls] = tuple(
            PersonalField(cls.__table__.name, attribute.personal_column, *attribute.personal_options)
            for attribute in vars(cls).values() if hasattr(attribute, "personal_column"))
    return fields


def seal_pending(mapper: Mapper, connection: Any, instance: Any) -> None:
    """At insert: seal the values assigned before the row identifier (or the app) was at hand."""
    unsealed = instance.__dict__.pop(_UNSEALED, None)
    if not unsealed:
        return
    # The INSERT's parameters are read from the instance after this listener.  Indexes first:
    # some rows' values are bound to their document's index.
    fields = [field for field in personal_fields(type(instance)) if field.column in unsealed]
    for field in fields:
        _index(instance, field, unsealed[field.column])
    for field in fields:
        _seal(instance, field, unsealed[field.column])


def open_loaded(instance: Any, context: Any, *args: Any) -> None:
    """At load (in the app context of the query): open every personal field of the row."""
    for field in personal_fields(type(instance)):
        if f"{field.column}_sealed" in instance.__dict__:
            _open(instance, field)


event.listen(Mapper, "before_insert", seal_pending)
event.listen(Mapper, "load", open_loaded)
event.listen(Mapper, "refresh", open_loaded)


class BlindIndex(TypeDecorator[str]):
    """A column storing only the blind index of what is assigned or compared (never read back)."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return None if value is None else cipher().blind_index(value)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        return value

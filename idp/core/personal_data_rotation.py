"""``idp pii rotate-key``: reseal every personal value under the current data key, in small
batches, while the provider serves (docs/operations.md, "Rotating the personal-data key").

Each batch is one short transaction.  A value is replaced only if it is still the one read (a
guarded UPDATE): a person changing their phone meanwhile wrote it under the current key already,
and two nodes running the command at once never overwrite each other.  The work is found by
what it is (values whose key id is not the current one), so an interrupted run resumes where it
stopped, and a run started before every node had the new key finds the stragglers next time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, func, or_, select, update

from idp.core.database import Base, db, rows_changed
from idp.core.personal_data_cipher import SEPARATOR, PersonalDataCipher
from idp.core.personal_data_fields import PersonalField, personal_fields


@dataclass
class RotationResult:
    #: Rows whose values moved to the current key, per table.
    resealed: dict[str, int] = field(default_factory=dict)
    #: Rows with a value still under another key once the run ended (changed under it, or sealed by a
    #: node that did not have the new key yet): run the command again.
    remaining: dict[str, int] = field(default_factory=dict)


def _sealed_models() -> Iterator[tuple[Table, Sequence[PersonalField]]]:
    for mapper in sorted(Base.registry.mappers, key=lambda m: m.class_.__name__):
        if fields := personal_fields(mapper.class_):
            yield mapper.class_.__table__, fields


def _not_current(table: Table, fields: Sequence[PersonalField], cipher: PersonalDataCipher) -> Any:
    prefix = cipher.current + SEPARATOR
    return or_(*(~table.c[f"{f.column}_sealed"].startswith(prefix, autoescape=True) for f in fields))


def _reseal_batch(table: Table, fields: Sequence[PersonalField], cipher: PersonalDataCipher,
                  after: Any, batch_size: int) -> tuple[int, Any]:
    """Reseal up to ``batch_size`` rows after primary key ``after``; the count and the last key seen."""
    [key] = table.primary_key.columns
    bindings = {f.bound_to for f in fields}
    sealed = [table.c[f"{f.column}_sealed"] for f in fields]
    query = select(key, *(table.c[b] for b in bindings if b != key.name), *sealed) \
        .where(_not_current(table, fields, cipher)).order_by(key).limit(batch_size)
    if after is not None:
        query = query.where(key > after)
    session = db.session
    rows = session.execute(query).mappings().all()
    # Rows needing the same columns changed go in one executemany (one round trip per group).
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        params: dict[str, Any] = {"row_key": row[key.name]}
        for f in fields:
            token = row[f"{f.column}_sealed"]
            if token is not None and not cipher.is_current(token):
                associated = f.associated(row[f.bound_to])
                params[f"old_{f.column}"] = token
                params[f"new_{f.column}"] = cipher.seal(cipher.open(token, associated), associated)
        groups[tuple(f.column for f in fields if f"old_{f.column}" in params)].append(params)
    count = 0
    for columns, params_list in groups.items():
        unchanged = [table.c[f"{column}_sealed"] == bindparam(f"old_{column}") for column in columns]
        guarded = update(table).where(key == bindparam("row_key"), *unchanged) \
            .values({f"{column}_sealed": bindparam(f"new_{column}") for column in columns})
        count += rows_changed(session.execute(guarded, params_list))
    session.commit()
    return count, (rows[-1][key.name] if rows else None)


def reseal_under_current_key(cipher: PersonalDataCipher, *, batch_size: int = 500) -> RotationResult:
    """Move every sealed value to ``cipher``'s current key (see the module docstring)."""
    result = RotationResult()
    session = db.session
    for table, fields in _sealed_models():
        resealed, after = 0, None
        while True:
            count, after = _reseal_batch(table, fields, cipher, after, batch_size)
            resealed += count
            if after is None:
                break
        result.resealed[table.name] = resealed
        result.remaining[table.name] = session.execute(
            select(func.count()).select_from(table).where(_not_current(table, fields, cipher))).scalar_one()
        session.commit()
    return result

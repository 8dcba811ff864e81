"""personal data sealed at rest: document numbers, names and phones encrypted, looked up by
blind indexes (docs/privacy.md, "Encrypted at rest"); audit digests wide enough to name their
algorithm

Revision ID: 0017_personal_data_sealed
Revises: 0016_login_session_device
Create Date: 2027-02-10 10:00:00.000000

Rows already there are sealed with the key file of the deployment, which ``idp db upgrade``
passes here (docs/operations.md); a database with no personal data needs no key.
"""

import sqlalchemy as sa
from alembic import context, op

from idp.core.personal_data_cipher import load_personal_data_cipher
from idp.core.personal_data_fields import PersonalField
from idp.core.database import PERSONAL_DATA_CIPHER
from idp.core.settings import load_settings

revision = '0017_personal_data_sealed'
down_revision = '0016_login_session_device'
branch_labels = None
depends_on = None

#: table -> (primary key, [(column, the column bound into its associated data, has a blind index)]),
#: as the models declare them (a frozen copy: this migration must not change with them).
TABLES = {
    "person": ("id", [("doc_number", "sub", True), ("name", "sub", False), ("phone", "sub", True)]),
    "registration": ("id", [("doc_number", "id", True), ("name", "id", False), ("phone", "id", False)]),
    "realname_record": ("id", [("doc_number", "doc_number_index", True), ("name", "doc_number_index", False),
                               ("phone", "doc_number_index", False)]),
    "face_check": ("id", [("doc_number", "id", True)]),
    "face_consent": ("id", [("doc_number", "doc_number_index", True)]),
    "dev_face_session": ("id", [("doc_number", "id", False), ("name", "id", False)]),
}
ROWS_AT_ONCE = 1000
# On SQLite, NOT NULL and constraints change by copying the table (Alembic's batch mode), which
# reflects unnamed constraints without a name: this names them so they can be dropped.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _cipher():
    cipher = context.config.attributes.get(PERSONAL_DATA_CIPHER)
    return cipher if cipher is not None else load_personal_data_cipher(load_settings())


def _seal_rows(table: str) -> None:
    """Seal the table's rows, a thousand at a time (a large ``person`` table never sits in memory)."""
    key, fields = TABLES[table]
    bindings = {bound for _, bound, _ in fields if bound != "doc_number_index"}
    columns = [key, *sorted(bindings - {key}), *(f"{column}_sealed AS {column}" for column, _, _ in fields)]
    connection = op.get_bind()
    cipher, after = None, None
    while True:
        following = "" if after is None else f" WHERE {key} > :after"
        rows = connection.execute(sa.text(f"SELECT {', '.join(columns)} FROM {table}{following}"
                                          f" ORDER BY {key} LIMIT {ROWS_AT_ONCE}"), {"after": after}).mappings().all()
        if not rows:
            return
        cipher = cipher or _cipher()
        updates = [_sealed_values(cipher, table, fields, row, key) for row in rows]
        assignments = ", ".join(f"{name} = :{name}" for name in updates[0] if name != "row_key")
        connection.execute(sa.text(f"UPDATE {table} SET {assignments} WHERE {key} = :row_key"), updates)
        after = rows[-1][key]


def _sealed_values(cipher, table: str, fields, row, key: str) -> dict:
    values = {"row_key": row[key]}
    # doc_number comes first: its index is what the other fields of some tables are bound to.
    for column, bound, searchable in fields:
        plain = row[column]
        if searchable:
            values[f"{column}_index"] = None if plain is None else cipher.blind_index(plain)
        binding = values["doc_number_index"] if bound == "doc_number_index" else row[bound]
        values[f"{column}_sealed"] = None if plain is None else cipher.seal(
            plain, PersonalField(table, column, bound, searchable).associated(binding))
    return values


def _widen(table: str, columns: list[str], type_) -> None:
    # SQLite does not enforce a VARCHAR's length: only PostgreSQL needs the wider type.
    if _postgresql():
        for column in columns:
            op.alter_column(table, column, type_=type_)


def _make_room(table: str, fields: list[tuple[str, str, bool]]) -> None:
    """Each value's column renamed ``<column>_sealed`` (a bulk UPDATE naming the plain attribute
    then fails instead of writing plain text) and typed as text; its index column added."""
    with op.batch_alter_table(table) as batch:
        for column, _, searchable in fields:
            batch.alter_column(column, new_column_name=f"{column}_sealed", type_=sa.Text())
            if searchable:
                batch.add_column(sa.Column(f"{column}_index", sa.String(64), nullable=True))


def _index_columns_required(table: str, columns: list[str]) -> None:
    with op.batch_alter_table(table) as batch:
        for column in columns:
            batch.alter_column(f"{column}_index", existing_type=sa.String(64), nullable=False)


def upgrade() -> None:
    # SQLite's table copy loses an index on an expression: made again below.
    op.drop_index('uq_person_username_lower', table_name='person')
    phone_unique = "person_phone_key" if _postgresql() else "uq_person_phone"
    with op.batch_alter_table('person', naming_convention=NAMING) as batch:
        batch.drop_constraint('uq_person_document', type_='unique')
        batch.drop_constraint(phone_unique, type_='unique')
        batch.drop_index('ix_person_doc_number')
    with op.batch_alter_table('realname_record') as batch:
        batch.drop_constraint('uq_realname_record_document', type_='unique')
    op.drop_index('ix_face_consent_doc_number', table_name='face_consent')

    for table, (_, fields) in TABLES.items():
        _make_room(table, fields)
        _seal_rows(table)
        _index_columns_required(table, [column for column, _, searchable in fields if searchable])

    with op.batch_alter_table('person') as batch:
        batch.create_unique_constraint('uq_person_document', ['doc_type', 'doc_number_index'])
        batch.create_unique_constraint('uq_person_phone', ['phone_index'])
        batch.create_index('ix_person_doc_number_index', ['doc_number_index'])
    op.create_index('uq_person_username_lower', 'person', [sa.text('lower(username)')], unique=True)
    with op.batch_alter_table('realname_record') as batch:
        batch.create_unique_constraint('uq_realname_record_document', ['doc_type', 'doc_number_index'])
    op.create_index('ix_face_consent_doc_number_index', 'face_consent', ['doc_number_index'])

    # An SMS code's phone becomes its blind index (the code was sent; the number is not read again).
    _widen('sms_code', ['phone'], sa.String(64))
    connection = op.get_bind()
    phones = connection.execute(sa.text("SELECT DISTINCT phone FROM sms_code")).scalars().all()
    if phones:
        cipher = _cipher()
        connection.execute(sa.text("UPDATE sms_code SET phone = :index WHERE phone = :phone"),
                           [{"index": cipher.blind_index(phone), "phone": phone} for phone in phones])

    # "sm3:" and 64 hex digits: a digest names its algorithm unless it is SHA-256 (idp.audit_chain).
    _widen('audit_event', ['digest'], sa.String(72))
    _widen('audit_chain', ['head_digest', 'anchor_digest'], sa.String(72))


def downgrade() -> None:
    raise NotImplementedError("sealed personal data is not unsealed by a downgrade: restore the backup taken before")

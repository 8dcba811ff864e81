"""Taxpayers and roles for the entity tests (a CSV as the bureau's import would send it)."""

from __future__ import annotations

import io

from idp.core.database import db
from idp.models import EntityRole
from idp.taxpayers.entities import add_role, import_entities

BUILDER = "91370200MA3C12346H"
TRADER = "91110000600037341L"
AGENCY = "9144030071526726XG"
CLIENT = "91350100M000100Y43"

HEADER = "row_type,taxpayer_number,name,kind,tax_authority_code,tax_authority_name,client_taxpayer_number,status"
ENTITIES_CSV = f"""{HEADER}
entity,{BUILDER},青岛海川建筑安装有限公司,enterprise,13702000000,国家税务总局青岛市税务局,,active
entity,{TRADER},青岛远洋贸易有限公司,enterprise,13702030000,国家税务总局青岛市市南区税务局,,active
entity,{AGENCY},青岛信达税务师事务所,agency,13702120000,国家税务总局青岛市崂山区税务局,,active
entity,{CLIENT},青岛小微科技有限公司,enterprise,13702110000,国家税务总局青岛市黄岛区税务局,,active
cross_region,{BUILDER},,报验,13702140000,国家税务总局青岛市即墨区税务局,,active
cross_region,{BUILDER},,跨区域税源登记,13702150000,国家税务总局胶州市税务局,,active
agency_agreement,{AGENCY},,,,,{CLIENT},active
"""


def load_entities(app) -> None:
    with app.app_context():
        report = import_entities(io.StringIO(ENTITIES_CSV))
        assert not report.errors, report.errors
        db.session.commit()


def give_role(app, taxpayer_number: str, role: str, *, confirmed: bool = True, person: str = "zhangsan") -> None:
    with app.app_context():
        added = add_role(person, taxpayer_number, role)
        if confirmed:
            added.status = "confirmed"
        db.session.commit()


def role_status(app, role_id: int) -> str:
    with app.app_context():
        return db.session.get(EntityRole, role_id).status

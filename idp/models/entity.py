"""Taxpayer entities and how people act for them (docs/domain.md §2.2-§2.5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import UTCDateTime, utcnow
from idp.core.database import Model


class TaxpayerEntity(Model):
    """An enterprise, agency or other taxpayer, with its home (primary) competent tax authority."""

    __tablename__ = "taxpayer_entity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: USCC, or a legacy taxpayer number, normalised.
    taxpayer_number: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: enterprise, individual_business, agency, other
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    tax_authority_code: Mapped[str] = mapped_column(String(16), nullable=False)
    tax_authority_name: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class CrossRegionRegistration(Model):
    """A cross-region report (报验) or tax-source registration: another competent tax authority."""

    __tablename__ = "cross_region_registration"
    __table_args__ = (UniqueConstraint("entity_id", "tax_authority_code", "kind", name="uq_cross_region"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("taxpayer_entity.id", ondelete="CASCADE"), index=True)
    #: report_inspection (跨区域报验) or cross_region_tax_source (跨区域税源登记)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    tax_authority_code: Mapped[str] = mapped_column(String(16), nullable=False)
    tax_authority_name: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")


class EntityRole(Model):
    """A person's role on an entity; ``pending`` until the person confirms it at login."""

    __tablename__ = "entity_role"
    __table_args__ = (UniqueConstraint("person_id", "entity_id", "role", name="uq_entity_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("taxpayer_entity.id", ondelete="CASCADE"), index=True)
    #: legal_representative, financial_officer, tax_officer, invoice_issuer, administrator, agent_staff
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    #: pending, confirmed, removed
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AgencyAgreement(Model):
    """An agency (涉税专业服务机构) acting for a client taxpayer."""

    __tablename__ = "agency_agreement"
    __table_args__ = (UniqueConstraint("agency_entity_id", "client_entity_id", name="uq_agency_agreement"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_entity_id: Mapped[int] = mapped_column(ForeignKey("taxpayer_entity.id", ondelete="CASCADE"), index=True)
    client_entity_id: Mapped[int] = mapped_column(ForeignKey("taxpayer_entity.id", ondelete="CASCADE"), index=True)
    #: active or ended
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

"""What strength a relying party asks for (``acr_values``, or an essential ``acr`` claim) and
whether a login meets it (docs/domain.md §13; OIDC Core 5.5.1.1)."""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError

from idp.core.assurance import ACR_VALUES
from idp.models import Client
from idp.protocol.claims_request import parse_claims_request

#: Strength order: a login meets a request for any level at or below its own.
ACR_RANK = {value: rank for rank, value in enumerate(ACR_VALUES, start=1)}


class UnmetAuthenticationRequirementsError(OAuth2Error):
    """OpenID Connect Unmet Authentication Requirements 1.0: an essential acr cannot be met."""

    error = "unmet_authentication_requirements"


@dataclass(frozen=True)
class AcrRequest:
    values: tuple[str, ...]
    essential: bool

    @property
    def required_rank(self) -> int | None:
        """The weakest of the requested levels we know (any of them satisfies the request)."""
        ranks = [ACR_RANK[v] for v in self.values if v in ACR_RANK]
        return min(ranks) if ranks else None

    def check_met(self, acr: str) -> bool:
        required = self.required_rank
        return required is None or ACR_RANK.get(acr, 0) >= required


def parse_acr_request(params, redirect_uri: str | None, client: Client | None = None) -> AcrRequest | None:
    """The essential ``acr`` of the ``claims`` parameter, else the voluntary ``acr_values``, else
    the client's registered ``default_acr_values`` (OIDC Dynamic Client Registration 1.0 section 2)."""
    claims = parse_claims_request(params, redirect_uri)
    acr = claims.entry("id_token", "acr") if claims else None
    if acr:
        values = acr.get("values") or ([acr["value"]] if "value" in acr else [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidRequestError("'claims' acr values must be strings.", redirect_uri=redirect_uri)
        request = AcrRequest(tuple(values), bool(acr.get("essential")))
        if request.essential and request.required_rank is None:
            raise UnmetAuthenticationRequirementsError(
                "None of the essential acr values is offered.", redirect_uri=redirect_uri)
        return request
    if params.get("acr_values"):
        return AcrRequest(tuple(params["acr_values"].split()), essential=False)
    if client is not None and client.default_acr_values:
        return AcrRequest(tuple(client.default_acr_values), essential=False)
    return None

"""The relying party's side: OAuth 2.0 / OpenID Connect endpoints, clients, tokens, logout."""

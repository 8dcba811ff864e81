"""Between login and the authorization code: the taxpayer a person acts for, and what they agreed
to share with a relying party (docs/relying-parties.md)."""

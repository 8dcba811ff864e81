"""Key state changes as pure functions over the list of records (docs/architecture.md §8).

``next`` (published, not signing) -> ``active`` (signing) -> ``retired`` (published until
every token it signed expired) -> gone; ``revoked`` is gone at once.  Every change keeps
exactly one active and one next key per algorithm.
"""

from __future__ import annotations

from idp.keyring.records import ALGORITHMS, KeyRecord, KeyringError, generate_record


def initial_records(now: int, passphrase: str, algorithms: tuple[str, ...] = ALGORITHMS) -> list[KeyRecord]:
    """A first active key and its published successor for each algorithm."""
    records = []
    for alg in algorithms:
        records.append(generate_record(alg, "active", now, passphrase).with_state("active", activated_at=now))
        records.append(generate_record(alg, "next", now, passphrase))
    return records


def _one(records: list[KeyRecord], alg: str, state: str) -> KeyRecord | None:
    found = [r for r in records if r.alg == alg and r.state == state]
    if len(found) > 1:
        raise KeyringError(f"the keyring has {len(found)} {state} {alg} keys; it must have one")
    return found[0] if found else None


def check_rotation_allowed(records: list[KeyRecord], now: int, min_published: int) -> None:
    """Refuse while a next key has been published for less than the JWKS max-age.

    A relying party may hold a JWKS fetched just before the next key appeared; it could not
    verify that key's tokens until its cache expires.
    """
    for alg in sorted({r.alg for r in records}):
        upcoming = _one(records, alg, "next")
        if upcoming is not None and now - upcoming.created_at < min_published:
            wait = min_published - (now - upcoming.created_at)
            raise KeyringError(
                f"the next {alg} key has been published for {now - upcoming.created_at} s, less than the JWKS "
                f"max-age of {min_published} s: relying parties may not have it yet. Wait {wait} s, or use --force."
            )


def rotate(
    records: list[KeyRecord], now: int, *, min_published: int, retire_window: int, passphrase: str, force: bool = False
) -> list[KeyRecord]:
    """next -> active, active -> retired (until ``now + retire_window``), and a new next, per algorithm."""
    if not force:
        check_rotation_allowed(records, now, min_published)
    result = []
    for alg in sorted({r.alg for r in records if r.state != "revoked"}):
        current, upcoming = _one(records, alg, "active"), _one(records, alg, "next")
        if upcoming is None:
            upcoming = generate_record(alg, "next", now, passphrase)
        result.append(upcoming.with_state("active", activated_at=now))
        if current is not None:
            result.append(current.with_state("retired", retired_at=now, retire_after=now + retire_window))
        result.append(generate_record(alg, "next", now, passphrase))
    changed = {r.kid for r in result}
    return [r for r in records if r.kid not in changed] + result


def revoke(records: list[KeyRecord], kid: str, now: int, passphrase: str) -> list[KeyRecord]:
    """Compromise: the key leaves the JWKS at once; an active key is replaced by the next."""
    target = next((r for r in records if r.kid == kid), None)
    if target is None:
        raise KeyringError(f"no key with kid {kid!r}")
    if target.state == "revoked":
        return records
    updated = [r for r in records if r.kid != kid] + [target.with_state("revoked", revoked_at=now)]
    if target.state == "active":
        upcoming = _one(updated, target.alg, "next")
        updated = [r for r in updated if r is not upcoming] + [upcoming.with_state("active", activated_at=now),
                                                                 generate_record(target.alg, "next", now, passphrase)]
    elif target.state == "next":
        updated.append(generate_record(target.alg, "next", now, passphrase))
    return updated


def prune(records: list[KeyRecord], now: int) -> list[KeyRecord]:
    """Drop retired keys whose tokens have all expired, and revoked keys' material."""
    return [
        r for r in records
        if not (r.state == "retired" and r.retire_after is not None and r.retire_after <= now)
        and r.state != "revoked"
    ]


def published(records: list[KeyRecord], now: int) -> list[KeyRecord]:
    """What the JWKS shows: next, active, and retired keys still inside their window."""
    return [
        r for r in records
        if r.state in ("next", "active")
        or (r.state == "retired" and (r.retire_after is None or r.retire_after > now))
    ]

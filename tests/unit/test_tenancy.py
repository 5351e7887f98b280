"""API key scopes: key files (scoped and legacy), user patterns, steering limits."""

import hashlib

import pytest

from fpps.server.http.tenancy import ANONYMOUS, AccessDenied, InvalidApiKey, KeyLimits, KeyScope, load_keyring

SCOPED = """
keys:
  tenant-a:
    key: ka-secret
    users: [alice, team-a-*]
    limits: {modes: [off, soft, mixed], max_strength: 0.5}
  tenant-b:
    sha256: %s
    users: [bob]
  ops: {key: k-ops, admin: true}
""" % hashlib.sha256(b"kb-secret").hexdigest()


@pytest.fixture(autouse=True)
def _no_env_keys(monkeypatch):
    monkeypatch.delenv("FPPS_API_KEYS", raising=False)
    monkeypatch.delenv("FPPS_API_KEY_FILE", raising=False)


def test_no_keys_is_an_open_server_acting_as_anonymous_admin():
    ring = load_keyring([], [], None)
    assert ring.is_open and ring.authenticate(None) is ANONYMOUS and ANONYMOUS.covers("anyone")


def test_scoped_file_keys_by_plain_key_or_sha256(tmp_path):
    f = tmp_path / "keys.yaml"
    f.write_text(SCOPED)
    ring = load_keyring([], [], str(f))
    a, b = ring.authenticate("ka-secret"), ring.authenticate("kb-secret")
    assert (a.key_id, b.key_id, ring.authenticate("k-ops").admin) == ("tenant-a", "tenant-b", True)
    assert a.covers("alice") and a.covers("team-a-42") and not a.covers("bob") and not a.covers("team-b")
    with pytest.raises(InvalidApiKey):
        ring.authenticate("kb-secret-not")
    with pytest.raises(InvalidApiKey):
        ring.authenticate("")
    with pytest.raises(AccessDenied) as e:
        a.check_memory("bob")
    assert e.value.param == "user_id"


def test_legacy_keys_keep_their_meaning(tmp_path):
    lines = tmp_path / "keys.txt"
    lines.write_text("# one per line\nk-file\n\nk-file-2\n")
    ring = load_keyring(["k-user"], [], str(lines))
    for k in ("k-user", "k-file", "k-file-2"):
        s = ring.authenticate(k)
        assert s.covers("anyone") and s.memory and not s.admin and k not in s.key_id
    ring = load_keyring(["k-user"], ["k-admin"], None)
    with pytest.raises(AccessDenied):  # with an admin key, the memory endpoints are admin-only
        ring.authenticate("k-user").check_memory("bob")
    ring.authenticate("k-user").check_user("bob", "user")  # chat as any user still works
    ring.authenticate("k-admin").check_memory("bob")


def test_limits_reject_explicit_values_and_clamp_defaults():
    s = KeyScope("t", "0" * 64, users=("*",), limits=KeyLimits(modes=("soft", "mixed"), max_strength=0.5))
    assert s.check_steering("mixed", 0.4, mode_given=True, strength_given=True, compare=False) == 0.4
    assert s.check_steering("mixed", 1.0, mode_given=False, strength_given=False, compare=False) == 0.5
    for args, param in [(("hard", 0.1), "fpps.mode"), (("soft", 0.9), "fpps.strength")]:
        with pytest.raises(AccessDenied) as e:
            s.check_steering(*args, mode_given=True, strength_given=True, compare=False)
        assert e.value.param == param
    with pytest.raises(AccessDenied) as e:
        s.check_steering("soft", 0.1, mode_given=True, strength_given=True, compare=True)
    assert e.value.param == "fpps.compare"


@pytest.mark.parametrize("text,match", [
    ("keys:\n  a: {users: [x]}\n", "exactly one of"),
    ("keys:\n  a: {key: k, sha256: '00'}\n", "exactly one of"),
    ("keys:\n  a: {sha256: 'xyz'}\n", "64 hex"),
    ("keys:\n  a: {key: k, users: alice}\n", "users"),
    ("keys:\n  a: {key: k, role: admin}\n", "unknown fields"),
    ("keys:\n  a: {key: k, limits: {modes: [sideways]}}\n", "limits.modes"),
    ("keys:\n  a: {key: k, limits: {max_strength: 2}}\n", "max_strength"),
    # A typo in a scoped file is an error, never the legacy one-key-per-line format (whose
    # lines would become unscoped keys acting for every user).
    ("keys:\n  a:\n    key: k\n   users: [alice]\n", "not valid YAML"),
    ("tenants:\n  a: {key: k}\n", "top-level 'keys'"),
])
def test_malformed_key_files_name_the_key_and_field(tmp_path, text, match):
    f = tmp_path / "keys.yaml"
    f.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_keyring([], [], str(f))

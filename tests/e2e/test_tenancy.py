"""Tenancy against the real server: API keys scoped to users, steering limits, the audit log.

One server with a scoped key file (two tenants and an admin), one legacy plain key and an audit
log file. Passing chats decode a few tokens only.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import serve_for_module

pytestmark = pytest.mark.slow

SECRETS = {"tenant-a": "ka-secret-7f3a", "tenant-b": "kb-secret-91c2", "ops": "k-ops-55d0"}
LEGACY = "k-legacy-0e1b"
MARKER = "ZEBRA-MARKER-4711"  # message text that must never reach the audit log
HISTORY = [[{"role": "user", "content": f"I live in Sydney. {MARKER}"},
            {"role": "assistant", "content": "Nice harbour."}]]
Q = [{"role": "user", "content": f"What is the capital of Australia? {MARKER}"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("fpps-tenancy")
    keys = {"keys": {
        "tenant-a": {"key": SECRETS["tenant-a"], "users": ["alice", "team-a-*"],
                     "limits": {"modes": ["off", "soft", "mixed"], "max_strength": 0.5}},
        "tenant-b": {"sha256": hashlib.sha256(SECRETS["tenant-b"].encode()).hexdigest(), "users": ["bob"]},
        "ops": {"key": SECRETS["ops"], "admin": True},
    }}
    (work / "keys.yaml").write_text(yaml.safe_dump(keys))
    args: dict[str, Any] = {"database_url": f"sqlite:///{work / 'memory.db'}", "max_batch_size": 4,
                            "max_queue": 4, "default_max_tokens": 4, "request_timeout_s": 120,
                            "api_key_file": str(work / "keys.yaml"), "api_keys": [LEGACY],
                            "audit_log": str(work / "audit.jsonl")}
    yield from serve_for_module(work, args)


@pytest.fixture(scope="module")
def as_key(server):
    clients: dict[str, Any] = {}

    def get(who: str):
        if who not in clients:
            key = LEGACY if who == "legacy" else SECRETS[who]
            clients[who] = server.client(headers={"Authorization": f"Bearer {key}"})
        return clients[who]

    yield get
    for c in clients.values():
        c.close()


def _chat(c, **body: Any):
    body.setdefault("messages", Q)
    body.setdefault("max_tokens", 2)
    return c.post("/v1/chat/completions", json=body)


def _denied(r, status: int, param: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    if param is not None:
        assert err["param"] == param and param.rsplit(".", 1)[-1] in err["message"], err
    return err


def test_keys_are_required_and_unknown_keys_are_401(server):
    with server.client() as c:
        assert c.get("/health").status_code == 200
        _denied(c.get("/v1/models"), 401)
        _denied(c.get("/v1/models", headers={"Authorization": "Bearer nope"}), 401)
        _denied(c.get("/v1/models", headers={"Authorization": f"Bearer {SECRETS['tenant-a']}x"}), 401)


def test_each_tenant_writes_and_reads_only_its_own_users(as_key):
    a, b = as_key("tenant-a"), as_key("tenant-b")
    for user in ("alice", "team-a-7"):
        assert a.post(f"/v1/users/{user}/sessions", json={"messages": HISTORY[0]}).status_code == 201
    assert b.post("/v1/users/bob/sessions", json={"messages": HISTORY[0]}).status_code == 201
    assert len(a.get("/v1/users/alice/sessions").json()["data"]) == 1
    _denied(a.get("/v1/users/bob/sessions"), 403, "user_id")
    _denied(a.delete("/v1/users/bob"), 403, "user_id")
    _denied(a.post("/v1/users/bob/sessions", json={"messages": HISTORY[0]}), 403, "user_id")
    _denied(b.get("/v1/users/alice/sessions"), 403, "user_id")
    _denied(b.delete("/v1/users/team-a-7/sessions/whatever"), 403, "user_id")
    _denied(b.get("/v1/users/team-b-1/sessions"), 403, "user_id")


def test_a_tenant_cannot_chat_as_another_tenants_user(as_key):
    a, b = as_key("tenant-a"), as_key("tenant-b")
    _denied(_chat(a, user="bob"), 403, "user")
    _denied(_chat(b, user="alice"), 403, "user")
    ok = _chat(a, user="alice")
    assert ok.status_code == 200 and ok.json()["fpps"]["sessions"] == 1
    assert _chat(b, user="bob").status_code == 200
    # A user nobody stored sessions for is still out of scope: 403, not an unpersonalized 200
    # (the scope is checked before the history lookup), and nothing is created for it.
    _denied(_chat(b, user="team-a-never-stored"), 403, "user")
    _denied(_chat(b, stream=True, user="team-a-never-stored"), 403, "user")
    assert as_key("ops").get("/v1/users/team-a-never-stored/sessions").status_code == 404


def test_mode_and_strength_limits_are_enforced(as_key):
    a = as_key("tenant-a")
    _denied(_chat(a, fpps={"mode": "hard", "history": HISTORY}), 403, "fpps.mode")
    _denied(_chat(a, fpps={"mode": "mixed", "strength": 0.9, "history": HISTORY}), 403, "fpps.strength")
    _denied(_chat(a, stream=True, fpps={"mode": "hard", "history": HISTORY}), 403, "fpps.mode")
    r = _chat(a, fpps={"mode": "soft", "strength": 0.5, "history": HISTORY})
    assert r.status_code == 200
    clamped = _chat(a, fpps={"history": HISTORY}).json()["fpps"]  # unset strength: clamped, not refused
    assert clamped["effective_strength"] in (0.0, 0.5)
    both = _chat(a, fpps={"compare": True, "history": HISTORY})  # "off" is allowed, so compare is
    assert both.status_code == 200 and len(both.json()["choices"]) == 2


def test_admin_key_can_do_everything(as_key):
    ops = as_key("ops")
    for user in ("alice", "bob", "team-a-7"):
        assert ops.get(f"/v1/users/{user}/sessions").status_code == 200
    r = _chat(ops, user="bob", fpps={"mode": "hard", "strength": 1.0})
    assert r.status_code == 200 and r.json()["fpps"]["mode"] == "hard"
    assert ops.post("/v1/users/carol/sessions", json={"messages": HISTORY[0]}).status_code == 201
    assert ops.delete("/v1/users/carol").status_code == 200


def test_legacy_plain_key_keeps_its_old_scope(as_key):
    legacy = as_key("legacy")
    _denied(legacy.get("/v1/users/bob/sessions"), 403)  # an admin key exists: memory is admin-only
    r = _chat(legacy, user="bob")
    assert r.status_code == 200 and r.json()["fpps"]["sessions"] == 1


def test_audit_log_has_one_line_per_decision_and_no_text_or_keys(as_key, server):
    a = as_key("tenant-a")
    r = _chat(a, user="alice", fpps={"mode": "soft"})
    rid = r.headers["x-fpps-request-id"]
    with a.stream("POST", "/v1/chat/completions", json={
            "messages": Q, "max_tokens": 2, "stream": True, "fpps": {"history": HISTORY}}) as s:
        assert s.status_code == 200
        stream_rid = s.headers["x-fpps-request-id"]
        list(s.iter_lines())
    text = (server.workdir / "audit.jsonl").read_text()
    lines = [json.loads(ln) for ln in text.splitlines()]
    mine = [ln for ln in lines if ln["request_id"] == rid]
    assert len(mine) == 1
    assert mine[0]["key_id"] == "tenant-a" and mine[0]["user"] == "alice" and mine[0]["mode"] == "soft"
    assert {"p_hat", "gate", "strength", "sessions", "ts"} <= set(mine[0])
    assert any(ln["request_id"] == stream_rid and ln["user"] is None for ln in lines)
    assert {ln["key_id"] for ln in lines} >= {"tenant-a", "tenant-b", "ops"}
    assert MARKER not in text and "Sydney" not in text and "capital" not in text
    for secret in (*SECRETS.values(), LEGACY):
        assert secret not in text
    assert not any(ln["key_id"] == LEGACY for ln in lines)

"""`fpps calibrate-gate`'s choice on synthetic states: fit on train, choose on dev, record."""

import numpy as np
import torch

from fpps.cli import every_kth_user
from fpps.steering.artifact import SteeringArtifact
from fpps.steering.calibrate_gate import CANDIDATES, GateStates, choose_gate, state_layers

D, L = 8, 28


def _states(n: int, seed: int, G: int = 22) -> GateStates:
    """Labels a linear function of the twin's block-G state; block L and the probe's block carry noise."""
    g = torch.Generator().manual_seed(seed)
    y = np.arange(n) % 2
    ht_g = torch.randn(n, D, generator=g)
    ht_g[:, 0] += torch.tensor(4.0 * y - 2.0)
    h_g = ht_g + 0.1 * torch.randn(n, D, generator=g)
    rnd = lambda: torch.randn(n, D, generator=g)  # noqa: E731
    return GateStates(rnd(), rnd(), rnd(), y, [f"q{i}" for i in range(n)], [f"u{i // 2}" for i in range(n)],
                      {18: (rnd(), rnd()), G: (h_g, ht_g)})


def test_a_state_candidate_wins_when_only_block_G_separates_and_the_table_records_it():
    art = SteeringArtifact(layer=L, w=torch.zeros(D), b=0.0, s_f=torch.randn(D), fingerprint="f", probe_layer=7)
    assert state_layers(art, list(CANDIDATES)) == [18, 22]
    train = GateStates.concat([_states(60, 0), _states(40, 1)])
    assert train.h.shape == (100, D) and train.at[22][1].shape == (100, D) and len(train.user_ids) == 100
    choice = choose_gate(art, train, _states(80, 2))
    assert choice.name in ("twin@22", "vu+twin@22"), [(r["candidate"], r["dev"]) for r in choice.table]
    gate = choice.artifact.gate
    assert gate is not None and gate.state_layer == 22 and gate.u is not None
    row = next(r for r in choice.table if r["candidate"] == choice.name)
    assert row["dev"]["personal_gated"] <= 5.0 and row["dev"]["factual_gated"] >= 95.0
    assert row["state_layer"] == 22 and row["C"] == CANDIDATES[choice.name].C
    scalar = next(r for r in choice.table if r["candidate"] == "vu_sf")
    assert scalar["state"] is None and scalar["dev"]["auc"] < 0.8  # block L is noise here


def test_every_kth_user_keeps_whole_users_deterministically():
    class E:
        def __init__(self, u: str, kind: str) -> None:
            self.user_id, self.kind = u, kind

    ex = [E(f"u{i:03d}", k) for i in range(360) for k in ("personalized", "factual")]
    kept = every_kth_user(ex, 200)
    users = sorted({e.user_id for e in kept})
    assert len(users) == 180 and users[:2] == ["u000", "u002"] and len(kept) == 360
    assert every_kth_user(ex, 1000) == ex

"""The xgrammar row mask (`fpps_server/engine/structured.py`) on the default model's tokenizer: any
logits, masked and decoded greedily, spell a document of the schema; bad schemas name
`response_format`."""

import json

import pytest
import torch

from fpps.server.engine.structured import Grammars
from fpps.steering import SteeringValidationError

SCHEMA = {"type": "object", "properties": {"a": {"enum": ["x", "y"]}, "b": {"type": "boolean"}},
          "required": ["a", "b"], "additionalProperties": False}


@pytest.fixture(scope="module")
def grammars(default_tokenizer):
    eos = {default_tokenizer.eos_token_id}
    return Grammars(default_tokenizer, len(default_tokenizer), eos), eos


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_masked_random_logits_spell_a_valid_document(grammars, default_tokenizer, seed):
    g, eos = grammars
    row = g.row(json.dumps(SCHEMA))
    gen = torch.Generator().manual_seed(seed)
    ids: list[int] = []
    for _ in range(64):
        token = int(row.mask(torch.randn(len(default_tokenizer), generator=gen)).argmax())
        if token in eos:
            break
        row.accept(token)
        ids.append(token)
        if row.is_done:
            break
    doc = json.loads(default_tokenizer.decode(ids))
    assert doc["a"] in ("x", "y") and isinstance(doc["b"], bool) and set(doc) == {"a", "b"}


def test_json_object_mode_masks_everything_but_an_object_start(grammars, default_tokenizer):
    g, _ = grammars
    masked = g.row(None).mask(torch.zeros(len(default_tokenizer)))
    allowed = torch.isfinite(masked).nonzero().squeeze(1).tolist()
    assert allowed and all(default_tokenizer.decode([t]).lstrip().startswith("{") for t in allowed)


@pytest.mark.parametrize("schema", [{"type": "no-such-type"}, {"$ref": "#/nowhere"}])
def test_unusable_schema_names_response_format(grammars, schema):
    g, _ = grammars
    with pytest.raises(SteeringValidationError) as e:
        g.row(json.dumps(schema))
    assert e.value.parameter == "response_format" and "[" not in str(e.value).split("schema not usable:")[1][:3]

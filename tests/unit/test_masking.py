"""The one masker (controlplane.masking): what it masks, and how short a value may be."""

from __future__ import annotations

from controlplane.masking import MASK, Masker


def test_values_shorter_than_the_shortest_are_left_alone() -> None:
    assert Masker(["ab"]).mask("user ab") == "user ab"
    assert Masker(["ab"], shortest=2).mask("user ab") == f"user {MASK}"


def test_none_and_blank_values_are_ignored() -> None:
    masker = Masker([None, "", "   "], shortest=1)
    assert masker.mask("a   b") == "a   b"
    masker.add(None)
    assert masker.mask_value({"k": "v"}) == {"k": "v"}


def test_a_value_is_masked_in_its_encodings_and_any_case() -> None:
    masker = Masker(["p@ss/word"])
    assert masker.mask("url p%40ss%2Fword") == f"url {MASK}"
    assert masker.mask("P@SS/WORD") == MASK
    assert masker.mask_value({"p@ss/word": ["p@ss/word", 1]}) == {MASK: [MASK, 1]}

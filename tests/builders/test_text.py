"""Text quality-control helpers (Section 3.3)."""

import pytest
from ecinstruct_builders.text import (
    clean_html,
    cut_words,
    is_english,
    normalise_ws,
    to_ascii,
    word_count,
)
from hypothesis import given
from hypothesis import strategies as st


def test_clean_html_strips_tags_and_unescapes():
    assert clean_html("<p>Soft&nbsp;knit</p><br/>scarf &amp; hat &#39;x&#39;") == "Soft knit scarf & hat 'x'"
    assert clean_html('<a href="x">link</a>') == "link"
    assert clean_html("no tags") == "no tags"


def test_to_ascii_folds_accents_quotes_dashes_and_drops_the_rest():
    assert to_ascii("Crème brûlée") == "Creme brulee"
    assert to_ascii("“quoted” ‘x’ a–b") == "\"quoted\" 'x' a-b"
    assert to_ascii("Straße ﬁne ½") == "Strasse fine 1/2"
    assert to_ascii("日本 mouse 🙂") == " mouse "
    assert to_ascii("plain") == "plain"


@given(st.text())
def test_to_ascii_output_is_always_ascii(s):
    assert to_ascii(s).isascii()


def test_normalise_ws_and_word_count():
    assert normalise_ws(" a \t b\r\n\nc ") == "a b c"
    assert word_count(" a \t b\r\n\nc ") == 3
    assert word_count("") == 0


def test_cut_words():
    text = " ".join(f"w{i}" for i in range(60))
    assert word_count(cut_words(text, 50)) == 50
    assert cut_words(text, 50).endswith("w49")
    assert cut_words("a  b\nc", 10) == "a b c"
    assert cut_words("a b", 0) == ""
    with pytest.raises(ValueError):
        cut_words("a", -1)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("wireless mouse", True),
        ("This case fits my phone well and the color is nice, I would buy it again.", True),
        ("zapatillas de running para hombre con suela de goma y cordones negros largos", False),
        ("ワイヤレスマウス", False),
        ("マウス mouse ワイヤレス", False),
        ("", False),
        ("1234", False),
    ],
)
def test_is_english(text, expected):
    assert is_english(text) is expected

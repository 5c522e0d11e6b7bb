import pytest

from engagement.codebook import load_codebook
from engagement.config import DEFAULT_CODEBOOK, EXAMPLES_DIR
from engagement.errors import InputError


def write(tmp_path, text):
    p = tmp_path / "cb.yaml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("path", [DEFAULT_CODEBOOK, *sorted(EXAMPLES_DIR.glob("*.yaml"))], ids=lambda p: p.name)
def test_shipped_codebooks_validate(path):
    cb = load_codebook(path)
    assert cb.referenced_columns()


@pytest.mark.parametrize("text,expected", [
    ("id: r\nscales:\n  ces: {column: c, min: 7, max: 1}\n", "max (1.0) must be above min (7.0) at key scales.ces (column 'c')"),
    ("id: r\nscales:\n  ces: {column: c, items: [a, b], min: 1, max: 7}\n", "exactly one of 'column' or 'items'"),
    ("id: r\nmargins:\n  age: {1: 0.5, 2: 0.6}\n", "margins.age: shares sum to 1.1"),
    ("id: r\noutcomes:\n  - {name: x, column: x, kind: ratio}\n", "outcomes.0.kind"),
    ("id: r\nsegmnts: []\n", "segmnts"),
    ("id: r\nscales: [\n", "valid YAML"),
])
def test_bad_codebook_messages_name_the_key(tmp_path, text, expected):
    with pytest.raises(InputError) as err:
        load_codebook(write(tmp_path, text))
    assert expected in str(err.value)
    assert str(tmp_path / "cb.yaml") in str(err.value)


def test_missing_codebook(tmp_path):
    with pytest.raises(InputError, match="existing codebook"):
        load_codebook(tmp_path / "nope.yaml")


def test_top_box_defaults_to_top_two_points(tmp_path):
    cb = load_codebook(write(tmp_path, "id: r\nscales:\n  csat: {column: c, min: 1, max: 5}\n"))
    assert cb.scales["csat"].top_box_values == [4, 5]

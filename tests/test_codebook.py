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


# ---- issue 9: a reference a new user can write from, and plain messages ----------------------------

def test_every_field_has_a_description_and_an_example():
    from engagement.codebook import _models

    undocumented = [f"{m.__name__}.{name}" for m in _models() for name, f in m.model_fields.items()
                    if not (f.description or "").strip()
                    or not (isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("examples"))]
    assert not undocumented, f"fields without a description or example: {undocumented}"


def test_docs_codebook_md_is_current():
    from engagement.codebook import codebook_reference
    from engagement.config import PROJ_ROOT

    doc = PROJ_ROOT / "docs" / "codebook.md"
    assert doc.read_text(encoding="utf-8") == codebook_reference(), \
        "docs/codebook.md is stale: run `python -m engagement.codebook > docs/codebook.md`"


def test_codebook_schema_command_prints_json_schema():
    import json

    from typer.testing import CliRunner

    from engagement.cli import app

    res = CliRunner().invoke(app, ["codebook", "schema"])
    assert res.exit_code == 0
    schema = json.loads(res.output)
    assert "scales" in schema["properties"] and "missing_codes" in schema["properties"]
    assert schema["$defs"]["Outcome"]["properties"]["kind"]["enum"] == ["nps", "likert", "binary", "count",
                                                                        "continuous"]


@pytest.mark.parametrize("text,expected", [
    ("id: r\noutcomes:\n  - {name: x, column: x, kind: ratio}\n",
     "kind must be one of nps, likert, binary, count, continuous, not 'ratio'"),
    ("id: r\nsegmnts: []\n", "'segmnts' is unknown; did you mean 'segments'?"),
    ("id: r\nscales:\n  ces: {colum: c, min: 1, max: 7}\n", "did you mean 'column'?"),
    ("id: r\noutcomes:\n  - {column: x, kind: nps}\n", "key 'name' is required"),
    ("id: r\nscales:\n  ces: {column: c, min: low, max: 7}\n", "min must be a number, not 'low'"),
    ("id: r\nsegments:\n  - column: member\n    labels: {yes: Member, no: Not a member}\n",
     "unquoted, YAML reads yes as true"),
    ("id: r\nmargins:\n  region: {01: 0.5, 02: 0.5}\n", "leading zero"),
    ("id: r\npii: [r]\n", "personal data but also used at key id"),
    ("id: r\nmargins:\n  g: {1: 1.5, 2: -0.5}\n", "negative"),
])
def test_plain_messages(tmp_path, text, expected):
    with pytest.raises(InputError) as err:
        load_codebook(write(tmp_path, text))
    assert expected in str(err.value)
    assert "Extra inputs are not permitted" not in str(err.value) and "\n" not in str(err.value)


def test_yaml_booleans_are_fine_in_true_false_keys(tmp_path):
    cb = load_codebook(write(tmp_path, "id: r\nscales:\n  ces: {column: c, min: 1, max: 7, higher_is_better: no}\n"))
    assert cb.scales["ces"].higher_is_better is False


def test_codebook_not_utf8_or_a_directory(tmp_path):
    p = tmp_path / "cb.yaml"
    p.write_bytes("survey: {name: 東京}\n".encode("shift_jis"))
    with pytest.raises(InputError, match="UTF-8"):
        load_codebook(p)
    with pytest.raises(InputError, match="not a directory"):
        load_codebook(tmp_path)

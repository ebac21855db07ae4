"""check_identifier: which names a design may take."""

import pytest

from elasticai.creator.vhdl.names import check_identifier

NOT_IDENTIFIER = (
    "design name must be a VHDL identifier (a letter, then letters, digits and single "
    "underscores, not ending in one), not {!r}"
)


@pytest.mark.parametrize("name", ["a", "my_model", "Model2", "x_1_y", "E", "ecx", "e_c"])
def test_check_identifier_valid_name_is_returned(name):
    assert check_identifier(name) == name


@pytest.mark.parametrize("name", ["signal", "Signal", "ENTITY", "end", "Xor", "vunit"])
def test_check_identifier_reserved_word_is_refused(name):
    with pytest.raises(ValueError) as error:
        check_identifier(name)
    assert str(error.value) == f"design name must not be a VHDL reserved word, not {name!r}"


@pytest.mark.parametrize(
    "name", ["1model", "_a", "a__b", "a_", "my model", "", "a-b", "a.b", "ä", "a\n"]
)
def test_check_identifier_malformed_name_is_refused(name):
    with pytest.raises(ValueError) as error:
        check_identifier(name)
    assert str(error.value) == NOT_IDENTIFIER.format(name)


@pytest.mark.parametrize("name", ["ec_model", "EC_linear", "Ec_x"])
def test_check_identifier_library_prefix_is_refused(name):
    with pytest.raises(ValueError) as error:
        check_identifier(name)
    assert str(error.value) == (
        f"design name must not start with 'ec_' (reserved for the library), not {name!r}"
    )


@pytest.mark.parametrize("name", [None, 3, b"model"])
def test_check_identifier_non_str_is_refused(name):
    with pytest.raises(TypeError) as error:
        check_identifier(name)
    assert str(error.value) == f"design name must be a str, not {name!r}"


def test_check_identifier_what_names_the_thing_in_message():
    with pytest.raises(ValueError) as error:
        check_identifier("in", what="port name")
    assert str(error.value) == "port name must not be a VHDL reserved word, not 'in'"

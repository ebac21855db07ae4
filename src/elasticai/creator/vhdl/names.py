"""VHDL identifiers: which names a design may take."""

from __future__ import annotations

import re

#: VHDL-2008 reserved words (IEEE 1076-2008, section 15.10).
RESERVED = frozenset(
    """
    abs access after alias all and architecture array assert assume assume_guarantee
    attribute begin block body buffer bus case component configuration constant context
    cover default disconnect downto else elsif end entity exit fairness file for force
    function generate generic group guarded if impure in inertial inout is label library
    linkage literal loop map mod nand new next nor not null of on open or others out
    package parameter port postponed procedure process property protected pure range
    record register reject release rem report restrict restrict_guarantee return rol ror
    select sequence severity shared signal sla sll sra srl strong subtype then to
    transport type unaffected units until use variable vmode vprop vunit wait when while
    with xnor xor
    """.split()  # noqa: SIM905
)

_BASIC_IDENTIFIER = re.compile(r"[A-Za-z](_?[A-Za-z0-9])*\Z")

#: Prefix of the hand-written library's entities; designs may not take it.
LIBRARY_PREFIX = "ec_"


def check_identifier(name: object, what: str = "design name") -> str:
    """Return ``name`` if it is a usable VHDL basic identifier, else raise ``ValueError``.

    >>> check_identifier("my_model")
    'my_model'
    >>> check_identifier("signal")
    Traceback (most recent call last):
    ...
    ValueError: design name must not be a VHDL reserved word, not 'signal'
    """
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, not {name!r}")
    if not _BASIC_IDENTIFIER.match(name):
        raise ValueError(
            f"{what} must be a VHDL identifier (a letter, then letters, digits and single "
            f"underscores, not ending in one), not {name!r}"
        )
    if name.lower() in RESERVED:
        raise ValueError(f"{what} must not be a VHDL reserved word, not {name!r}")
    if name.lower().startswith(LIBRARY_PREFIX):
        raise ValueError(
            f"{what} must not start with {LIBRARY_PREFIX!r} (reserved for the library), not {name!r}"
        )
    return name

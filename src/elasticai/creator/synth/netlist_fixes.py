"""Small rewrites of GHDL's Verilog so that Yosys maps it as a vendor tool would.

- ``signed_multiplies``: GHDL 2.0 writes a signed ``a * b`` as a product of both
  operands sign-extended to the result width (``// smul``), which Yosys cannot
  tell from a full-width multiply: a 16 x 16 product becomes a 32 x 32 one on
  three DSP slices. Multiplying the unextended operands as ``$signed`` gives the
  same low bits (the result width is the assignment's) on one DSP.
- ``block_roms``: marks ROMs of at least ``min_bits`` bits ``rom_style = "block"``
  (GHDL drops VHDL attributes), as vendor tools put such ROMs into block RAM.
- ``arithmetic_shifts``: GHDL 2.0 writes VHDL's ``shift_right`` of a ``signed`` as
  ``$signed(x) >> n``, a *logical* shift in Verilog (GHDL issue 2750, fixed upstream
  after 2.0): every rounding of a negative value came out wrong in any Verilog tool,
  Yosys included. ``>>>`` is the arithmetic shift.
- ``continuous_signals``: GHDL 2.0 writes a VHDL signal with an initial value that
  logic drives as ``always @* s = e; // (isignal)`` plus ``initial s <= init;``. A
  Verilog ``always @*`` waits for a change of what it reads: when ``e`` is a constant
  (a register that synthesis found constant, e.g. a bias ROM of one entry) it never
  runs, and ``s`` keeps ``init`` in a simulator (Icarus Verilog: wrong outputs) while
  synthesis takes the constant. ``wire s; assign s = e;`` means the same everywhere.
- ``memory_words``: GHDL writes a ROM's contents as one ``initial begin m[i] = v; ... end``
  block, which Yosys 0.23 reads in time quadratic in its words (16k words: 161 s); one
  ``initial m[i] = v;`` per word means the same and reads in linear time (4.7 s).
- ``memory_files``: the synthesis flows go further and move each ROM's words into a file
  that ``$readmemb`` reads (16k words: 0.1 s): a 232k-weight model reads in seconds.
- ``collision_free_reads``: marks the memories of the library whose reads never use a
  word written at the same clock edge ``(* no_rw_check *)``, so that Yosys maps their
  registered read onto a block RAM's read port without the bypass logic that would give
  such a read the new (or old) word (``ec_recurrent``'s gate ring: its reader takes a word
  only from the cycle after its write).
- ``ascending_roms``: GHDL 2.0 stores a VHDL constant ``array (0 to D)`` as a Verilog
  memory ``m[D:0]`` with its words in reverse and reads word ``i`` at ``m[D - i]``: a
  subtraction with a carry chain between the address register and the ROM unless ``D``
  is all ones. Storing the words in VHDL's order and reading ``m[i]`` means the same.

>>> text = '''  assign a_o = {{8{a[7]}}, a}; // sext
...   assign b_o = {{8{b[7]}}, b}; // sext
...   assign p = a_o * b_o; // smul'''
>>> print(signed_multiplies(text).splitlines()[-1])
  assign p = $signed(a) * $signed(b); // smul (operands unextended)
"""

from __future__ import annotations

import re

__all__ = [
    "arithmetic_shifts",
    "ascending_roms",
    "block_roms",
    "collision_free_reads",
    "continuous_signals",
    "memory_files",
    "memory_words",
    "signed_multiplies",
]

_SEXT = re.compile(r"^\s*assign (\S+) = \{\{\d+\{(\S+)\[\d+\]\}\}, (\S+)\}; // sext$", re.M)
_SMUL = re.compile(r"^(\s*assign (\S+) = )(\S+) \* (\S+); // smul$", re.M)
_MEMORY = re.compile(r"^(\s*)reg \[(\d+):0\] (\S+)\[(\d+):0\] ; // memory$", re.M)


_SIGNED_SHIFT = re.compile(r"(\$signed\([^()]*\)) >> ")


def arithmetic_shifts(text: str) -> str:
    """Rewrite ``$signed(x) >> n`` (GHDL's arithmetic shift right) as ``$signed(x) >>> n``.

    >>> arithmetic_shifts("  assign n9_o = $signed(n8_o) >> 31'b011;")
    "  assign n9_o = $signed(n8_o) >>> 31'b011;"
    """
    return _SIGNED_SHIFT.sub(r"\1 >>> ", text)


def signed_multiplies(text: str) -> str:
    """Rewrite ``x_sext * y_sext // smul`` as ``$signed(x) * $signed(y)``."""
    extended = {m.group(1): m.group(3) for m in _SEXT.finditer(text) if m.group(2) == m.group(3)}

    def fix(m: re.Match[str]) -> str:
        a, b = extended.get(m.group(3)), extended.get(m.group(4))
        if a is None or b is None:
            return m.group(0)
        return f"{m.group(1)}$signed({a}) * $signed({b}); // smul (operands unextended)"

    return _SMUL.sub(fix, text)


def _registered_read(text: str, name: str) -> bool:
    """Whether every read of memory ``name`` goes straight into a register (as
    ``r <= data`` or through the hold multiplexer of its enable, ``en ? data : r``): only
    such a read can become a block RAM's read port."""
    reads = re.findall(rf"^\s*assign (\S+) = {re.escape(name)}\[", text, re.M)
    for data in reads:
        uses = re.findall(rf"^.*\b{re.escape(data)}\b.*$", text, re.M)
        for use in uses:
            if "// mem_rd" in use or re.search(rf"assign {re.escape(data)} = ", use):
                continue
            if not re.search(rf"(\? {re.escape(data)} :|<= {re.escape(data)};)", use):
                return False
    return bool(reads)


def _written(text: str, memory: str) -> bool:
    """Whether ``memory`` is written anywhere in ``text`` (a RAM; GHDL's ROMs are only
    initialised)."""
    return re.search(rf"^\s*{re.escape(memory)}\[[^\]]+\] <= ", text, re.M) is not None


def block_roms(text: str, min_bits: int = 8 * 1024, min_depth: int = 256) -> str:
    """Put ``(* rom_style = "block" *)`` on memories of ``min_bits`` or more and at least
    ``min_depth`` words that are never written (GHDL's ROMs: only initialised) and whose
    reads are registered (else no block RAM can hold them). Shallow, wide ROMs stay in
    LUTs: in block RAM they would take one per 36 bits of width."""

    def fix(m: re.Match[str]) -> str:
        name, depth = m.group(3), int(m.group(4)) + 1
        bits = (int(m.group(2)) + 1) * depth
        if (
            bits < min_bits
            or depth < min_depth
            or _written(text, name)
            or not _registered_read(text, name)
        ):
            return m.group(0)
        return f'{m.group(1)}(* rom_style = "block" *) {m.group(0).lstrip()}'

    return _MEMORY.sub(fix, text)


_ISIGNAL = re.compile(
    r"^(\s*)always @\*\n\s*(\w+) = (.*); // \(isignal\)\n(?:\s*initial\n\s*\2 <= .*;\n)?",
    re.M,
)
_MODULE = re.compile(r"^module .*?^endmodule$", re.M | re.S)


def continuous_signals(text: str) -> str:
    """Rewrite GHDL's ``always @* s = e; // (isignal)`` (and the ``initial s <= init;``
    after it) as ``assign s = e;``, the declaration ``reg s`` as ``wire s``.

    >>> print(continuous_signals('''module m
    ...   reg [1:0] b;
    ...   always @*
    ...     b = 2'b10; // (isignal)
    ...   initial
    ...     b <= 2'b00;
    ... endmodule'''))
    module m
      wire [1:0] b;
      assign b = 2'b10; // (isignal)
    endmodule
    """

    def module(m: re.Match[str]) -> str:
        body = m.group(0)
        names = []

        def fix(s: re.Match[str]) -> str:
            indent, name, expr = s.groups()
            declared = re.compile(rf"^(\s*)reg( \[\d+:\d+\])? {name};$", re.M)
            if not declared.search(body):
                return s.group(0)
            names.append(declared)
            return f"{indent}assign {name} = {expr}; // (isignal)\n"

        body = _ISIGNAL.sub(fix, body)
        for declared in names:
            body = declared.sub(
                lambda d: f"{d.group(1)}wire{d.group(2) or ''} " + d.group(0).split()[-1],
                body,
                count=1,
            )
        return body

    return _MODULE.sub(module, text)


_INIT_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)initial begin\n"
    r"(?P<words>(?:[ \t]*[\w$]+\[\d+\] = \d+'b[01xzXZ]+;\n)+)"
    r"[ \t]*end\n",
    re.M,
)
_WORD = re.compile(r"^([ \t]*)([\w$]+)\[(\d+)\] = (\d+'b[01xzXZ]+);$", re.M)


def memory_words(text: str) -> str:
    """Rewrite GHDL's ``initial begin m[i] = v; ... end`` as one ``initial m[i] = v;``
    per word.

    >>> print(memory_words('''  initial begin
    ...     m[1] = 2'b01;
    ...     m[0] = 2'b10;
    ...   end
    ... '''), end="")
      initial m[1] = 2'b01;
      initial m[0] = 2'b10;
    """

    def fix(m: re.Match[str]) -> str:
        indent = m.group("indent")
        return "".join(
            f"{indent}initial {name}[{address}] = {value};\n"
            for _, name, address, value in _WORD.findall(m.group("words"))
        )

    return _INIT_BLOCK.sub(fix, text)


_INIT_WORD = re.compile(r"^([ \t]*)initial ([\w$]+)\[(\d+)\] = \d+'b([01xzXZ]+);\n", re.M)


def memory_files(text: str, min_words: int = 64) -> tuple[str, dict[str, str]]:
    """Move the words of every memory initialised by ``min_words`` or more ``initial
    m[i] = v;`` statements (:func:`memory_words`) into a file that ``initial
    $readmemb("<module>_<m>.mem", m);`` reads. Returns the Verilog and the files (name ->
    text: the words in address order, ``@address`` in hex where a run of words starts).

    >>> v, files = memory_files('''module rom
    ...   initial m[1] = 2'b01;
    ...   initial m[0] = 2'b10;
    ... endmodule
    ... ''', min_words=2)
    >>> print(v, end="")
    module rom
      initial $readmemb("rom_m.mem", m);
    endmodule
    >>> print(files["rom_m.mem"], end="")
    @0
    10
    01
    """
    out: list[str] = []
    files: dict[str, str] = {}
    for module in re.split(r"(?=^module )", text, flags=re.M):
        header = re.match(r"module (\w+)", module)
        if header is None:
            out.append(module)
            continue
        module_text, module_files = _module_memory_files(module, header[1], min_words)
        out.append(module_text)
        files.update(module_files)
    return "".join(out), files


def _module_memory_files(module: str, name: str, min_words: int) -> tuple[str, dict[str, str]]:
    """:func:`memory_files` of one module ``name``."""
    words: dict[str, list[tuple[int, str]]] = {}
    for m in _INIT_WORD.finditer(module):
        words.setdefault(m.group(2), []).append((int(m.group(3)), m.group(4)))
    files = {memory: f"{name}_{memory}.mem" for memory, w in words.items() if len(w) >= min_words}
    read: set[str] = set()

    def replace(m: re.Match[str]) -> str:
        indent, memory = m.group(1), m.group(2)
        if memory not in files:
            return m.group(0)
        if memory in read:
            return ""
        read.add(memory)
        return f'{indent}initial $readmemb("{files[memory]}", {memory});\n'

    contents = {}
    for memory, file in files.items():
        lines, following = [], None
        for address, bits in sorted(words[memory]):
            if address != following:
                lines.append(f"@{address:x}")
            lines.append(bits)
            following = address + 1
        contents[file] = "\n".join(lines) + "\n"
    return _INIT_WORD.sub(replace, module) if files else module, contents


_REVERSED_ADDRESS = re.compile(r"^\s*assign (\w+) = \d+'b([01]+) - (\w+);$", re.M)


def ascending_roms(text: str) -> str:
    """Read every ROM (a memory that is only initialised) that GHDL reads at ``D - i`` only
    (``D`` its highest address) at ``i``, its words stored at ``D - address``.

    >>> print(ascending_roms('''module rom
    ...   reg [1:0] m[2:0] ; // memory
    ...   initial begin
    ...     m[2] = 2'b01;
    ...     m[1] = 2'b10;
    ...     m[0] = 2'b11;
    ...   end
    ...   assign a = 2'b10 - i;
    ...   assign d = m[a];
    ... endmodule'''))
    module rom
      reg [1:0] m[2:0] ; // memory
      initial begin
        m[0] = 2'b01;
        m[1] = 2'b10;
        m[2] = 2'b11;
      end
      assign a = 2'b10 - i;
      assign d = m[i];
    endmodule
    """
    return _MODULE.sub(lambda m: _ascending_roms(m.group(0)), text)


def _only_address(module: str, net: str, memory: str) -> bool:
    """Whether ``net`` is read nowhere in ``module`` but as an address of ``memory``."""
    uses = [
        line
        for line in re.findall(rf"^.*\b{net}\b.*$", module, re.M)
        if not re.match(rf"\s*(wire( \[\d+:\d+\])? {net};|assign {net} = )", line)
    ]
    word = re.compile(rf"\b{net}\b")
    return all(len(word.findall(line)) == line.count(f"{memory}[{net}]") for line in uses)


def _ascending_roms(module: str) -> str:
    """:func:`ascending_roms` of one module."""
    reversed_of = {
        m.group(1): (int(m.group(2), 2), m.group(3)) for m in _REVERSED_ADDRESS.finditer(module)
    }
    if not reversed_of:
        return module
    tops: dict[str, int] = {}  # the ROMs to turn around -> their highest address
    for m in _MEMORY.finditer(module):
        name, top = m.group(3), int(m.group(4))
        if _written(module, name):
            continue  # a RAM
        addresses = set(re.findall(rf"\b{re.escape(name)}\[(\w+)\](?! = )", module))
        if addresses and all(
            a in reversed_of and reversed_of[a][0] == top and _only_address(module, a, name)
            for a in addresses
        ):
            tops[name] = top
            for a in addresses:
                read = re.compile(rf"\b{re.escape(name)}\[{a}\]")
                module = read.sub(f"{name}[{reversed_of[a][1]}]", module)

    def turn(w: re.Match[str]) -> str:
        indent, name, address, value = w.groups()
        if name not in tops:
            return w.group(0)
        return f"{indent}{name}[{tops[name] - int(address)}] = {value};"

    return _WORD.sub(turn, module) if tops else module


#: (module name prefix, memory): the library's memories whose reads never use a word
#: written at the same clock edge. ``ec_recurrent``'s gate ring ``gbuf``: the cell reads
#: ``gbuf(r_ptr)`` only while the ring holds words (``r_count /= 0``), which were written
#: at earlier edges; the write at the same edge goes to ``w_ptr``, which equals ``r_ptr``
#: only while the ring is empty (nothing read) or full (nothing written).
COLLISION_FREE = (("ec_recurrent", "gbuf"),)


def collision_free_reads(text: str) -> str:
    """Put ``(* no_rw_check *)`` on the memories of :data:`COLLISION_FREE`.

    >>> print(collision_free_reads('''module ec_recurrent_1_2
    ...   reg [7:0] gbuf[239:0] ; // memory
    ... endmodule'''))
    module ec_recurrent_1_2
      (* no_rw_check *) reg [7:0] gbuf[239:0] ; // memory
    endmodule
    """

    def module(m: re.Match[str]) -> str:
        body = m.group(0)
        free = {memory for prefix, memory in COLLISION_FREE if body.startswith(f"module {prefix}")}

        def mark(d: re.Match[str]) -> str:
            if d.group(3) not in free:
                return d.group(0)
            return f"{d.group(1)}(* no_rw_check *) {d.group(0).lstrip()}"

        return _MEMORY.sub(mark, body) if free else body

    return _MODULE.sub(module, text)

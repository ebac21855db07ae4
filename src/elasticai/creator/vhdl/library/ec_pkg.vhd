-- ec_pkg: shared arithmetic helpers of the elasticai.creator VHDL library.
-- Bit-exact with elasticai.creator.arithmetic (shift_round, saturate, wrap,
-- overflow, requantize). Rounding codes: 0 floor, 1 half_up, 2 half_even.
-- Overflow codes: 0 saturate, 1 wrap. Synthesizable VHDL-2008, numeric_std only.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

package ec_pkg is
  constant EC_FLOOR     : natural := 0;
  constant EC_HALF_UP   : natural := 1;
  constant EC_HALF_EVEN : natural := 2;
  constant EC_SATURATE  : natural := 0;
  constant EC_WRAP      : natural := 1;

  -- ceil(log2(n)); clog2(1) = 0
  function clog2(n : positive) return natural;
  -- bits needed for an index in 0 .. n-1 (at least 1)
  function index_width(n : positive) return positive;
  function ceil_div(a : natural; b : positive) return natural;
  function imax(a, b : integer) return integer;
  function imin(a, b : integer) return integer;

  -- Width of shift_round(v, shift, ...) for a v of w bits: w + max(0, -shift).
  function shift_round_width(w : positive; shift : integer) return positive;
  -- v / 2**shift rounded (shift > 0), or v * 2**-shift (shift <= 0); exact, never overflows.
  -- Result width: shift_round_width(v'length, shift), index range (W-1 downto 0).
  function shift_round(v : signed; shift : integer; rounding : natural) return signed;
  -- The bit to add to floor(v / 2**shift) to round as ROUNDING says (v'length > shift).
  function round_up_bit(v : signed; shift : positive; rounding : natural) return std_logic;
  -- Clamp to the out_width two's complement range.
  function saturate(v : signed; out_width : positive) return signed;
  -- Low out_width bits (sign-extend if v is narrower).
  function wrap(v : signed; out_width : positive) return signed;
  -- saturate (mode 0) or wrap (mode 1) into out_width bits.
  function apply_overflow(v : signed; mode : natural; out_width : positive) return signed;
  -- overflow(shift_round(v, shift, rounding)), out_width bits.
  function requantize(v : signed; shift : integer; rounding : natural; overflow : natural;
                      out_width : positive) return signed;
  -- min(max(v, lo), hi); result width max(v'length, lo'length, hi'length).
  function clamp(v : signed; lo : signed; hi : signed) return signed;
  -- clamp(requantize(v, shift, rounding, overflow, out_width), lo, hi), out_width bits.
  -- lo and hi (any width) are first saturated into out_width bits, so bounds at or beyond
  -- the out_width range cost no logic.
  function requantize_clamp(v : signed; shift : integer; rounding : natural; overflow : natural;
                            out_width : positive; lo : signed; hi : signed) return signed;
  -- Canonical signed digits (non-adjacent form) of w, n digits: d(k) in {-1, 0, 1},
  -- w = sum d(k) * 2**k, no two adjacent non-zero digits (n >= w'length + 1 always suffices).
  -- Same recoding as ec_linear_unrolled; for constants at elaboration (bit loops only).
  function csd_digits(w : signed; n : positive) return integer_vector;
  -- Number of trailing zero bits of v (v'length when v is zero).
  function trailing_zeros(v : signed) return natural;
  -- '1' where x < c, for a constant c of any width: less on both, one bit wider. With k
  -- trailing zero bits in c, x < c exactly when floor(x / 2**k) < c / 2**k, and synthesis
  -- folds the low bits away (a bound of 0 is the sign bit; a bound of +-2**m compares the
  -- few bits from m up). As bit logic, synthesis maps it to LUTs rather than a carry chain,
  -- whose carry out leaves an ECP5 slice slowly (the fully unrolled MLP 6-4-3: 217 MHz
  -- instead of 159).
  function below(x : signed; c : signed) return std_logic;
  -- '1' where a < b for two signals of the same width, as bit logic in a balanced tree
  -- (log2 of the width levels of LUTs, no carry chain: see below).
  function less(a : signed; b : signed) return std_logic;
  -- '1' where b holds, else '0'.
  function flag(b : boolean) return std_logic;
end package ec_pkg;

package body ec_pkg is
  function clog2(n : positive) return natural is
    variable r : natural := 0;
    variable p : positive := 1;
  begin
    while p < n loop
      p := p * 2;
      r := r + 1;
    end loop;
    return r;
  end function;

  function index_width(n : positive) return positive is
  begin
    return imax(1, clog2(n));
  end function;

  function ceil_div(a : natural; b : positive) return natural is
  begin
    return (a + b - 1) / b;
  end function;

  function imax(a, b : integer) return integer is
  begin
    if a > b then
      return a;
    end if;
    return b;
  end function;

  function imin(a, b : integer) return integer is
  begin
    if a < b then
      return a;
    end if;
    return b;
  end function;

  function shift_round_width(w : positive; shift : integer) return positive is
  begin
    if shift < 0 then
      return w - shift;
    end if;
    return w;
  end function;

  -- shift > 0 part of shift_round; result v'length bits (always fits).
  function shift_right_round(v : signed; shift : positive; rounding : natural) return signed is
    constant L : positive := v'length;
    constant E : positive := imax(L, shift + 1) + 1;
    variable ve : signed(E - 1 downto 0);
    variable q : signed(E - 1 downto 0);
    variable up : std_logic;
  begin
    ve := resize(v, E);
    q := shift_right(ve, shift);
    up := round_up_bit(ve, shift, rounding);
    if up = '1' then
      q := q + 1;
    end if;
    return resize(q, L);
  end function;

  function round_up_bit(v : signed; shift : positive; rounding : natural) return std_logic is
    constant vn : signed(v'length - 1 downto 0) := v;
    variable sticky : std_logic := '0';
  begin
    if rounding = EC_HALF_UP then
      return vn(shift - 1);
    elsif rounding = EC_HALF_EVEN then
      for k in 0 to shift - 2 loop
        sticky := sticky or vn(k);
      end loop;
      return vn(shift - 1) and (sticky or vn(shift));
    end if;
    return '0';
  end function;

  function shift_round(v : signed; shift : integer; rounding : natural) return signed is
    constant L : positive := v'length;
    variable vn : signed(L - 1 downto 0);
    variable r : signed(shift_round_width(L, shift) - 1 downto 0);
  begin
    vn := v;
    if shift <= 0 then
      r := shift_left(resize(vn, r'length), -shift);
    else
      r := shift_right_round(vn, shift, rounding);
    end if;
    return r;
  end function;

  -- in range where the bits above out_width - 1 all equal the sign (a tree of bit
  -- comparisons, not two comparisons along the whole width); else the bound on the sign's side
  function saturate(v : signed; out_width : positive) return signed is
    constant L : positive := v'length;
    variable vn : signed(L - 1 downto 0);
    variable fits : boolean;
    variable r : signed(out_width - 1 downto 0);
  begin
    vn := v;
    if L <= out_width then
      r := resize(vn, out_width);
    else
      fits := true;
      for k in out_width - 1 to L - 2 loop
        if vn(k) /= vn(L - 1) then
          fits := false;
        end if;
      end loop;
      if fits then
        r := vn(out_width - 1 downto 0);
      elsif vn(L - 1) = '0' then
        r := (others => '1');
        r(out_width - 1) := '0';
      else
        r := (others => '0');
        r(out_width - 1) := '1';
      end if;
    end if;
    return r;
  end function;

  function wrap(v : signed; out_width : positive) return signed is
    constant L : positive := v'length;
    variable vn : signed(L - 1 downto 0);
    variable r : signed(out_width - 1 downto 0);
  begin
    vn := v;
    if L <= out_width then
      r := resize(vn, out_width);
    else
      r := vn(out_width - 1 downto 0);
    end if;
    return r;
  end function;

  function apply_overflow(v : signed; mode : natural; out_width : positive) return signed is
  begin
    if mode = EC_WRAP then
      return wrap(v, out_width);
    end if;
    return saturate(v, out_width);
  end function;

  function requantize(v : signed; shift : integer; rounding : natural; overflow : natural;
                      out_width : positive) return signed is
  begin
    return apply_overflow(shift_round(v, shift, rounding), overflow, out_width);
  end function;

  function clamp(v : signed; lo : signed; hi : signed) return signed is
    constant W : positive := imax(v'length, imax(lo'length, hi'length));
    variable r : signed(W - 1 downto 0);
    variable l : signed(W - 1 downto 0);
    variable h : signed(W - 1 downto 0);
  begin
    r := resize(v, W);
    l := resize(lo, W);
    h := resize(hi, W);
    if r < l then
      r := l;
    end if;
    if r > h then
      r := h;
    end if;
    return r;
  end function;

  function requantize_clamp(v : signed; shift : integer; rounding : natural; overflow : natural;
                            out_width : positive; lo : signed; hi : signed) return signed is
    variable y : signed(out_width - 1 downto 0);
    variable l : signed(out_width - 1 downto 0);
    variable h : signed(out_width - 1 downto 0);
  begin
    y := requantize(v, shift, rounding, overflow, out_width);
    l := saturate(lo, out_width);
    h := saturate(hi, out_width);
    if y < l then
      y := l;
    end if;
    if y > h then
      y := h;
    end if;
    return y;
  end function;

  function csd_digits(w : signed; n : positive) return integer_vector is
    constant ONE : signed(n downto 0) := (0 => '1', others => '0');
    variable v : signed(n downto 0);
    variable d : integer_vector(0 to n - 1) := (others => 0);
  begin
    v := resize(w, n + 1);
    for k in 0 to n - 1 loop
      if v(0) = '1' then
        if v(1) = '1' then
          d(k) := -1;
          v := v + ONE;
        else
          d(k) := 1;
          v := v - ONE;
        end if;
      end if;
      v := shift_right(v, 1);
    end loop;
    for k in v'range loop
      assert v(k) = '0' report "ec_pkg: CSD recoding needs more digits" severity failure;
    end loop;
    return d;
  end function;

  function trailing_zeros(v : signed) return natural is
    constant L : positive := v'length;
    variable vn : signed(L - 1 downto 0);
  begin
    vn := v;
    for k in 0 to L - 1 loop
      if vn(k) /= '0' then
        return k;
      end if;
    end loop;
    return L;
  end function;

  function below(x : signed; c : signed) return std_logic is
    -- one bit wider than both, so neither resize changes a value; with c a constant, its
    -- trailing zero bits fold away in synthesis (a = floor(x / 2**k) decides alone)
    constant W : positive := imax(x'length, c'length) + 1;
  begin
    return less(resize(x, W), resize(c, W));
  end function;

  function less(a : signed; b : signed) return std_logic is
    constant W : positive := a'length;
    variable an : signed(W - 1 downto 0);
    variable bn : signed(W - 1 downto 0);
    -- per group of bits starting at i: a < b and a = b within the group
    variable lt, eq : std_logic_vector(W - 1 downto 0);
    variable s : positive;
  begin
    an := a;
    bn := b;
    -- the sign bits inverted: signed order as unsigned order
    an(W - 1) := not an(W - 1);
    bn(W - 1) := not bn(W - 1);
    for i in 0 to W - 1 loop
      lt(i) := (not an(i)) and bn(i);
      eq(i) := not (an(i) xor bn(i));
    end loop;
    -- merge neighbouring groups, the upper one deciding where it differs
    s := 1;
    for level in 0 to clog2(W) - 1 loop
      for i in 0 to W - 1 loop
        if i mod (2 * s) = 0 and i + s < W then
          lt(i) := lt(i + s) or (eq(i + s) and lt(i));
          eq(i) := eq(i + s) and eq(i);
        end if;
      end loop;
      s := 2 * s;
    end loop;
    return lt(0);
  end function;

  function flag(b : boolean) return std_logic is
  begin
    if b then
      return '1';
    end if;
    return '0';
  end function;
end package body ec_pkg;

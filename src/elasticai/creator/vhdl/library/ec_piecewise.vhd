-- ec_piecewise: piecewise-linear function, element-wise on LANES elements per beat, one
-- beat per cycle (sigmoid, tanh, SiLU, leaky ReLU ... as integer formulas):
--   k = number of j in 1 .. SEGMENTS-1 with x >= BREAKS[j]
--   y = apply_overflow(shift_round((x - BASES[k]) * MULS[k] + ADDS[k], SHIFT, ROUNDING),
--                      OVERFLOW, Y_WIDTH)
-- Entry j of a vector generic is at bits j*WIDTH + WIDTH-1 downto j*WIDTH (entry 0 lowest;
-- BREAKS[0] is ignored). BREAKS must be non-decreasing (checked at elaboration), so that
-- segment k covers [BREAKS[k], BREAKS[k+1]). Every intermediate is exact (never overflows):
-- x - base has max(X_WIDTH, B_WIDTH) + 1 bits, the product M_WIDTH more, the sum one more
-- than the wider of product and ADDS. Rounding 0 floor, 1 half up, 2 half even; overflow
-- 0 saturate, 1 wrap (ec_pkg.requantize, bit-exact with elasticai.creator.arithmetic).
-- PAD_LANES (default 0): number of padding lanes in the beat with tlast; they output zero.
-- Pipeline, three register levels under one clock enable (output register empty or
-- accepted: s_axis_tready = m_axis_tready or not m_axis_tvalid):
--   1. compare x with every break (side by side), the thermometer code turned into the
--      segment index k by an OR of one-hot terms; registers k and x;
--   2. select BASES[k], MULS[k], ADDS[k] (multiplexers on k), t = (x - base) * mul + add
--      (one signed multiplier per lane); registers t;
--   3. shift/round and overflow into the output register (padding lanes zero).
-- Latency: 3 cycles (input handshake to output valid, unstalled); tlast goes with the data.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use work.ec_pkg.all;

entity ec_piecewise is
  generic (
    LANES     : positive;
    X_WIDTH   : positive;
    Y_WIDTH   : positive;
    SEGMENTS  : positive;
    B_WIDTH   : positive;
    M_WIDTH   : positive;
    A_WIDTH   : positive;
    BREAKS    : std_logic_vector;
    BASES     : std_logic_vector;
    MULS      : std_logic_vector;
    ADDS      : std_logic_vector;
    SHIFT     : natural;
    ROUNDING  : natural;
    OVERFLOW  : natural;
    PAD_LANES : natural := 0
  );
  port (
    clk           : in  std_logic;
    rst           : in  std_logic;
    s_axis_tdata  : in  std_logic_vector(LANES * X_WIDTH - 1 downto 0);
    s_axis_tvalid : in  std_logic;
    s_axis_tready : out std_logic := '0';
    s_axis_tlast  : in  std_logic;
    m_axis_tdata  : out std_logic_vector(LANES * Y_WIDTH - 1 downto 0) := (others => '0');
    m_axis_tvalid : out std_logic := '0';
    m_axis_tready : in  std_logic;
    m_axis_tlast  : out std_logic := '0'
  );
end entity ec_piecewise;

architecture rtl of ec_piecewise is
  constant BR_V : std_logic_vector(BREAKS'length - 1 downto 0) := BREAKS;
  constant BA_V : std_logic_vector(BASES'length - 1 downto 0) := BASES;
  constant MU_V : std_logic_vector(MULS'length - 1 downto 0) := MULS;
  constant AD_V : std_logic_vector(ADDS'length - 1 downto 0) := ADDS;

  constant KW : positive := index_width(SEGMENTS);       -- segment index
  constant DW : positive := imax(X_WIDTH, B_WIDTH) + 1;  -- x - base
  constant PW : positive := DW + M_WIDTH;                -- (x - base) * mul
  constant TW : positive := imax(PW, A_WIDTH) + 1;       -- ... + add

  function brk(j : natural) return signed is
  begin
    return signed(BR_V(j * X_WIDTH + X_WIDTH - 1 downto j * X_WIDTH));
  end function;

  function base(j : natural) return signed is
  begin
    return signed(BA_V(j * B_WIDTH + B_WIDTH - 1 downto j * B_WIDTH));
  end function;

  function mul(j : natural) return signed is
  begin
    return signed(MU_V(j * M_WIDTH + M_WIDTH - 1 downto j * M_WIDTH));
  end function;

  function add(j : natural) return signed is
  begin
    return signed(AD_V(j * A_WIDTH + A_WIDTH - 1 downto j * A_WIDTH));
  end function;

  function breaks_ascending return boolean is
  begin
    for j in 2 to SEGMENTS - 1 loop
      assert brk(j) >= brk(j - 1)
        report "ec_piecewise: BREAKS must be non-decreasing, not entry " & integer'image(j)
          & " < entry " & integer'image(j - 1) severity failure;
    end loop;
    return true;
  end function;
  constant ASCENDING : boolean := breaks_ascending;

  -- segment index: t(j) = x >= BREAKS[j] is a thermometer code (t(0) = 1, t(j) = 1 for
  -- j <= k); the one-hot h(j) = t(j) and not t(j+1) ORs in the binary code of j
  function segment(x : signed(X_WIDTH - 1 downto 0)) return unsigned is
    variable t : std_logic_vector(0 to SEGMENTS) := (others => '0');
    variable k : unsigned(KW - 1 downto 0) := (others => '0');
  begin
    t(0) := '1';
    for j in 1 to SEGMENTS - 1 loop
      t(j) := not below(x, brk(j));  -- bit logic, no carry chain (ec_pkg.below)
    end loop;
    for j in 1 to SEGMENTS - 1 loop
      if t(j) = '1' and t(j + 1) = '0' then
        k := k or to_unsigned(j, KW);
      end if;
    end loop;
    return k;
  end function;

  -- (x - BASES[k]) * MULS[k] + ADDS[k], exact
  function affine(x : signed(X_WIDTH - 1 downto 0); k : unsigned(KW - 1 downto 0))
    return signed is
    variable b : signed(B_WIDTH - 1 downto 0) := base(0);
    variable m : signed(M_WIDTH - 1 downto 0) := mul(0);
    variable a : signed(A_WIDTH - 1 downto 0) := add(0);
    variable d : signed(DW - 1 downto 0);
    variable p : signed(PW - 1 downto 0);
  begin
    for j in 1 to SEGMENTS - 1 loop
      if k = to_unsigned(j, KW) then
        b := base(j);
        m := mul(j);
        a := add(j);
      end if;
    end loop;
    d := resize(x, DW) - resize(b, DW);
    p := d * m;
    return resize(p, TW) + resize(a, TW);
  end function;

  signal ce      : std_logic;
  -- stage 1: segment index and x
  signal x1      : std_logic_vector(LANES * X_WIDTH - 1 downto 0) := (others => '0');
  signal k1      : std_logic_vector(LANES * KW - 1 downto 0) := (others => '0');
  signal valid1  : std_logic := '0';
  signal last1   : std_logic := '0';
  -- stage 2: the affine value
  signal t2      : std_logic_vector(LANES * TW - 1 downto 0) := (others => '0');
  signal valid2  : std_logic := '0';
  signal last2   : std_logic := '0';
  -- output register
  signal data_q  : std_logic_vector(LANES * Y_WIDTH - 1 downto 0) := (others => '0');
  signal valid_q : std_logic := '0';
  signal last_q  : std_logic := '0';
begin
  assert BREAKS'length = SEGMENTS * X_WIDTH
    report "ec_piecewise: BREAKS must have SEGMENTS*X_WIDTH = "
      & integer'image(SEGMENTS * X_WIDTH) & " bits, not " & integer'image(BREAKS'length)
      severity failure;
  assert BASES'length = SEGMENTS * B_WIDTH
    report "ec_piecewise: BASES must have SEGMENTS*B_WIDTH = "
      & integer'image(SEGMENTS * B_WIDTH) & " bits, not " & integer'image(BASES'length)
      severity failure;
  assert MULS'length = SEGMENTS * M_WIDTH
    report "ec_piecewise: MULS must have SEGMENTS*M_WIDTH = "
      & integer'image(SEGMENTS * M_WIDTH) & " bits, not " & integer'image(MULS'length)
      severity failure;
  assert ADDS'length = SEGMENTS * A_WIDTH
    report "ec_piecewise: ADDS must have SEGMENTS*A_WIDTH = "
      & integer'image(SEGMENTS * A_WIDTH) & " bits, not " & integer'image(ADDS'length)
      severity failure;

  ce <= m_axis_tready or not valid_q;
  s_axis_tready <= ce;
  m_axis_tdata <= data_q;
  m_axis_tvalid <= valid_q;
  m_axis_tlast <= last_q;

  process (clk)
    variable x : signed(X_WIDTH - 1 downto 0);
    variable k : unsigned(KW - 1 downto 0);
    variable t : signed(TW - 1 downto 0);
  begin
    if rising_edge(clk) then
      if rst = '1' then
        valid1 <= '0';
        last1 <= '0';
        valid2 <= '0';
        last2 <= '0';
        valid_q <= '0';
        last_q <= '0';
        data_q <= (others => '0');
      elsif ce = '1' then
        -- stage 1
        valid1 <= s_axis_tvalid;
        if s_axis_tvalid = '1' then
          last1 <= s_axis_tlast;
          x1 <= s_axis_tdata;
          for l in 0 to LANES - 1 loop
            x := signed(s_axis_tdata(l * X_WIDTH + X_WIDTH - 1 downto l * X_WIDTH));
            k1(l * KW + KW - 1 downto l * KW) <= std_logic_vector(segment(x));
          end loop;
        end if;
        -- stage 2
        valid2 <= valid1;
        if valid1 = '1' then
          last2 <= last1;
          for l in 0 to LANES - 1 loop
            x := signed(x1(l * X_WIDTH + X_WIDTH - 1 downto l * X_WIDTH));
            k := unsigned(k1(l * KW + KW - 1 downto l * KW));
            t2(l * TW + TW - 1 downto l * TW) <= std_logic_vector(affine(x, k));
          end loop;
        end if;
        -- stage 3
        valid_q <= valid2;
        if valid2 = '1' then
          last_q <= last2;
          for l in 0 to LANES - 1 loop
            t := signed(t2(l * TW + TW - 1 downto l * TW));
            if last2 = '1' and l >= LANES - PAD_LANES then
              data_q(l * Y_WIDTH + Y_WIDTH - 1 downto l * Y_WIDTH) <= (others => '0');
            else
              data_q(l * Y_WIDTH + Y_WIDTH - 1 downto l * Y_WIDTH) <=
                std_logic_vector(requantize(t, SHIFT, ROUNDING, OVERFLOW, Y_WIDTH));
            end if;
          end loop;
        end if;
      end if;
    end if;
  end process;
end architecture rtl;

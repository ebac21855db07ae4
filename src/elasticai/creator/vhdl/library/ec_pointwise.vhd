-- ec_pointwise: element-wise y = overflow(clamp(shift_round(x*MUL + ADD, SHIFT), LO, HI))
-- on LANES elements per beat, one pipeline register (latency 1, one beat per cycle).
-- PAD_LANES (default 0): number of padding lanes in the beat with tlast; they output zero.
-- No multiplier: the constant MUL is recoded at elaboration into canonical signed digits
-- (CSD, as in ec_linear_unrolled); every non-zero digit d(k) is a term +-(x << k), wiring
-- only. The terms are summed in ascending shift order (a chain starting with the bare lowest
-- term, the sign of the lowest digit factored out), each adder spanning only the bits of its
-- partial sum's value range at and above its shift; ADD is added last (or the chain is
-- subtracted from ADD when the lowest digit is negative) above the known zero LSBs.
-- MUL = 0 gives t = ADD; MUL = 2**k with ADD = 0 is wiring only. Bit-exact with x*MUL + ADD.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use work.ec_pkg.all;

entity ec_pointwise is
  generic (
    LANES     : positive;
    X_WIDTH   : positive;
    Y_WIDTH   : positive;
    MUL       : std_logic_vector;
    ADD       : std_logic_vector;
    SHIFT     : integer;
    ROUNDING  : natural;
    OVERFLOW  : natural;
    LO        : std_logic_vector;
    HI        : std_logic_vector;
    PAD_LANES : natural := 0
  );
  port (
    clk           : in  std_logic;
    rst           : in  std_logic;
    s_axis_tdata  : in  std_logic_vector(LANES * X_WIDTH - 1 downto 0);
    s_axis_tvalid : in  std_logic;
    s_axis_tready : out std_logic;
    s_axis_tlast  : in  std_logic;
    m_axis_tdata  : out std_logic_vector(LANES * Y_WIDTH - 1 downto 0);
    m_axis_tvalid : out std_logic;
    m_axis_tready : in  std_logic;
    m_axis_tlast  : out std_logic
  );
end entity ec_pointwise;

architecture rtl of ec_pointwise is
  constant MUL_S : signed(MUL'length - 1 downto 0) := signed(MUL);
  constant ADD_S : signed(ADD'length - 1 downto 0) := signed(ADD);
  constant LO_S  : signed(LO'length - 1 downto 0) := signed(LO);
  constant HI_S  : signed(HI'length - 1 downto 0) := signed(HI);
  -- exact width of x*MUL + ADD
  constant TW : positive := imax(X_WIDTH + MUL'length, ADD'length) + 1;

  -- CSD digits of MUL (shifts 0 .. MUL'length, all < TW)
  constant ND  : positive := MUL'length + 1;
  constant DIG : integer_vector(0 to ND - 1) := csd_digits(MUL_S, ND);
  -- ADD = 0 (no term), else its trailing zero bits (always < ADD'length < TW)
  constant ADD_TZ : natural := trailing_zeros(ADD_S);
  constant HAS_ADD : boolean := ADD_TZ < ADD'length;

  -- shift of the lowest non-zero digit, -1 if MUL = 0
  function lowest_digit return integer is
  begin
    for k in 0 to ND - 1 loop
      if DIG(k) /= 0 then
        return k;
      end if;
    end loop;
    return -1;
  end function;

  constant K0 : integer := lowest_digit;
  -- the digit terms are summed with the sign of the lowest one taken out: s = x*MUL * (-1 if
  -- NEG), so the chain starts with the bare x << K0 and needs no negation
  constant NEG : boolean := K0 >= 0 and DIG(imax(K0, 0)) < 0;

  -- bits of the smallest two's complement type holding v
  function min_width(v : signed) return positive is
    constant L : positive := v'length;
    variable vn : signed(L - 1 downto 0);
  begin
    vn := v;
    for k in L - 2 downto 0 loop
      if vn(k) /= vn(L - 1) then
        return k + 2;
      end if;
    end loop;
    return 1;
  end function;

  -- digit k with the sign of the lowest digit taken out
  function dsign(k : natural) return integer is
  begin
    if NEG then
      return -DIG(k);
    end if;
    return DIG(k);
  end function;

  -- Width of the partial sum x*C after the term of digit k (C: the digits 0 .. k, sign of the
  -- lowest taken out). C is a prefix of a CSD expansion, so |C| < 2**(k+1) and an adder spans
  -- only about X_WIDTH + 1 bits from bit k upward; wrap-around at this width is exact (the true
  -- value fits), and the partial sum is sign-extended above it (wiring).
  -- |x| <= 2**(X_WIDTH-1) and |c| <= 2**(m-1) - 1 for an m-bit c other than -2**(m-1), so
  -- x*c fits X_WIDTH + m - 1 bits; c = -2**(m-1) needs one more.
  function partial_widths return integer_vector is
    constant CW  : positive := ND + 2;
    constant ONE : signed(CW - 1 downto 0) := (0 => '1', others => '0');
    variable c : signed(CW - 1 downto 0) := (others => '0');
    variable r : integer_vector(0 to ND - 1) := (others => TW);
    variable m : positive;
    variable w : positive;
  begin
    for k in 0 to ND - 1 loop
      if dsign(k) > 0 then
        c := c + shift_left(ONE, k);
      elsif dsign(k) < 0 then
        c := c - shift_left(ONE, k);
      end if;
      m := min_width(c);
      w := X_WIDTH + m - 1;
      if c(CW - 1) = '1' and trailing_zeros(c) = m - 1 then
        w := w + 1;
      end if;
      r(k) := imin(w, TW);
    end loop;
    return r;
  end function;

  constant PW : integer_vector(0 to ND - 1) := partial_widths;

  -- t = x*MUL + ADD by shifts and adds
  function product(x : signed(X_WIDTH - 1 downto 0)) return signed is
    variable t : signed(TW - 1 downto 0);
    variable a : signed(TW - 1 downto 0);
  begin
    a := resize(ADD_S, TW);
    if K0 < 0 then
      return a;  -- MUL = 0
    end if;
    t := shift_left(resize(x, TW), K0);
    for k in K0 + 1 to ND - 1 loop
      if dsign(k) > 0 then
        t(PW(k) - 1 downto k) := t(PW(k) - 1 downto k) + resize(x, PW(k) - k);
        t := resize(t(PW(k) - 1 downto 0), TW);
      elsif dsign(k) < 0 then
        t(PW(k) - 1 downto k) := t(PW(k) - 1 downto k) - resize(x, PW(k) - k);
        t := resize(t(PW(k) - 1 downto 0), TW);
      end if;
    end loop;
    -- t's low K0 bits are zero (no carry or borrow from them); ADD's low ADD_TZ bits are zero
    if NEG then
      a(TW - 1 downto K0) := a(TW - 1 downto K0) - t(TW - 1 downto K0);
      return a;
    elsif HAS_ADD then
      t(TW - 1 downto ADD_TZ) := t(TW - 1 downto ADD_TZ) + a(TW - 1 downto ADD_TZ);
    end if;
    return t;
  end function;

  function lane(x : signed(X_WIDTH - 1 downto 0)) return signed is
    variable t : signed(TW - 1 downto 0);
  begin
    t := product(x);
    return apply_overflow(clamp(shift_round(t, SHIFT, ROUNDING), LO_S, HI_S), OVERFLOW, Y_WIDTH);
  end function;

  signal data_q  : std_logic_vector(LANES * Y_WIDTH - 1 downto 0) := (others => '0');
  signal valid_q : std_logic := '0';
  signal last_q  : std_logic := '0';
  signal ready   : std_logic;
begin
  ready <= m_axis_tready or not valid_q;
  s_axis_tready <= ready;
  m_axis_tdata <= data_q;
  m_axis_tvalid <= valid_q;
  m_axis_tlast <= last_q;

  process (clk)
    variable x : signed(X_WIDTH - 1 downto 0);
  begin
    if rising_edge(clk) then
      if rst = '1' then
        valid_q <= '0';
        last_q <= '0';
        data_q <= (others => '0');
      elsif ready = '1' then
        valid_q <= s_axis_tvalid;
        if s_axis_tvalid = '1' then
          last_q <= s_axis_tlast;
          for k in 0 to LANES - 1 loop
            x := signed(s_axis_tdata(k * X_WIDTH + X_WIDTH - 1 downto k * X_WIDTH));
            if s_axis_tlast = '1' and k >= LANES - PAD_LANES then
              data_q(k * Y_WIDTH + Y_WIDTH - 1 downto k * Y_WIDTH) <= (others => '0');
            else
              data_q(k * Y_WIDTH + Y_WIDTH - 1 downto k * Y_WIDTH) <= std_logic_vector(lane(x));
            end if;
          end loop;
        end if;
      end if;
    end if;
  end process;
end architecture rtl;

-- ec_linear_unrolled: fully unrolled fully-connected layer, one whole sample per beat and
-- one beat per clock:
--   y[o] = clamp(requantize(b[o] * 2**BIAS_SHIFT + sum_i w[o][i] * x[i], OUT_SHIFT), OUT_LO, OUT_HI)
-- No multipliers: the constant products are an adder graph that elasticai.creator.ops.
-- adder_graph builds (canonical signed digits of the weights, subexpressions shared across
-- the outputs, balanced sums, register levels) and passes as GRAPH, nine integers a node:
--   kind  0 input x[a] | 1 constant c[a] | 2 zero | 3 adder
--   a, b  operands of an adder (node numbers, both earlier); input index; output of a
--         constant
--   k     shift of operand b against operand a
--   flags 1: subtract (bits = a - (b << k), else a + (b << k)); 2: the value is negative
--   shift the node's value is (-1)**negative * bits * 2**shift (used at the roots)
--   width bits of the node (its exact range: nothing overflows)
--   stage register levels before the node; a node reads its operands as they were
--         (stage - operand's stage) registers ago
--   delay registers kept of the node's value (its latest reader's stage minus its own)
-- ROOTS(o) is the node of output o. CONSTANTS holds c[o] (C_WIDTH bits at o*C_WIDTH): the
-- bias and, for ROUNDING half_up and half_even, the rounding offset 2**(OUT_SHIFT-1), so
-- the root u = sum + c rounds by wiring: y = floor(u / 2**OUT_SHIFT), and for half_even
-- bit 0 of y cleared where the low OUT_SHIFT bits of u are zero (a tie: u rounded up to
-- an odd y; the even neighbour is y - 1). Overflow and clamp then compare with both
-- bounds side by side (saturation folded into the bounds); with saturation and a right
-- shift, on floor(u / 2**OUT_SHIFT) and the low bits of u, in parallel with the rounding
-- (the rounded value is only selected); each comparison covers only the bits above the
-- bound's trailing zeros (ec_pkg.below). This output logic
-- is the last stage and ends in the output register (SPLIT: the last two stages, with the
-- comparisons and the rounding registered before the selection), so a beat leaves STAGES
-- cycles after it arrived. tlast passes through.
-- Backpressure: every register before the output register shares one clock enable ce
-- (= s_axis_tready), which ec_skid (the output register and a skid register behind it)
-- keeps as a register.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use work.ec_pkg.all;

entity ec_linear_unrolled is
  generic (
    IN_FEATURES  : positive;
    OUT_FEATURES : positive;
    X_WIDTH      : positive;
    C_WIDTH      : positive;
    Y_WIDTH      : positive;
    OUT_SHIFT    : integer := 0;
    ROUNDING     : natural := 2;
    OVERFLOW     : natural := 0;
    CONSTANTS    : std_logic_vector;
    GRAPH        : integer_vector;
    ROOTS        : integer_vector;
    OUT_LO       : std_logic_vector := x"8000000000000000";
    OUT_HI       : std_logic_vector := x"7FFFFFFFFFFFFFFF";
    STAGES       : positive := 1;
    SPLIT        : boolean := false
  );
  port (
    clk           : in  std_logic;
    rst           : in  std_logic;
    s_axis_tdata  : in  std_logic_vector(IN_FEATURES * X_WIDTH - 1 downto 0);
    s_axis_tvalid : in  std_logic;
    s_axis_tready : out std_logic := '0';
    s_axis_tlast  : in  std_logic;
    m_axis_tdata  : out std_logic_vector(OUT_FEATURES * Y_WIDTH - 1 downto 0) := (others => '0');
    m_axis_tvalid : out std_logic := '0';
    m_axis_tready : in  std_logic;
    m_axis_tlast  : out std_logic := '0'
  );
end entity ec_linear_unrolled;

architecture rtl of ec_linear_unrolled is
  constant NF : positive := 9;
  constant F_KIND  : natural := 0;
  constant F_A     : natural := 1;
  constant F_B     : natural := 2;
  constant F_K     : natural := 3;
  constant F_FLAGS : natural := 4;
  constant F_SHIFT : natural := 5;
  constant F_WIDTH : natural := 6;
  constant F_STAGE : natural := 7;
  constant F_DELAY : natural := 8;
  constant K_INPUT : natural := 0;
  constant K_CONST : natural := 1;
  constant K_ADD   : natural := 3;

  constant G  : integer_vector(0 to GRAPH'length - 1) := GRAPH;
  constant R  : integer_vector(0 to ROOTS'length - 1) := ROOTS;
  constant NN : positive := G'length / NF;
  constant SPLIT_N : natural := boolean'pos(SPLIT);
  constant CN : std_logic_vector(CONSTANTS'length - 1 downto 0) := CONSTANTS;

  function field(n : natural; f : natural) return integer is
  begin
    return G(n * NF + f);
  end function;

  -- first bit of node n's registers in the node vector: versions 0 .. delay of width bits
  function offsets return integer_vector is
    variable r : integer_vector(0 to NN);
  begin
    r(0) := 0;
    for n in 0 to NN - 1 loop
      r(n + 1) := r(n) + field(n, F_WIDTH) * (field(n, F_DELAY) + 1);
    end loop;
    return r;
  end function;

  constant OFF : integer_vector(0 to NN) := offsets;

  -- bits = p +/- (q << k) in w bits (the low k bits are p's). An operand may be wider
  -- than the sum (e.g. 0 - q where q reaches 2**(w-1)): it enters wrapped to its low bits,
  -- since numeric_std's resize would keep its sign bit instead of bit w - k - 1.
  function node_sum(p : std_logic_vector; q : std_logic_vector; k : natural; w : positive;
                    sub : boolean) return std_logic_vector is
    variable pe : signed(w - 1 downto 0);
    variable hs : signed(w - 1 downto 0);
    variable h  : signed(w - k - 1 downto 0);
    variable r  : signed(w - 1 downto 0);
  begin
    pe := wrap(signed(p), w);
    hs := shift_right(pe, k);
    h := hs(w - k - 1 downto 0);
    if sub then
      h := h - wrap(signed(q), w - k);
    else
      h := h + wrap(signed(q), w - k);
    end if;
    r(w - 1 downto k) := h;
    if k > 0 then
      r(k - 1 downto 0) := pe(k - 1 downto 0);
    end if;
    return std_logic_vector(r);
  end function;

  -- the bounds, saturated into Y_WIDTH bits
  constant LO_Y : signed(Y_WIDTH - 1 downto 0) := saturate(signed(OUT_LO), Y_WIDTH);
  constant HI_Y : signed(Y_WIDTH - 1 downto 0) := saturate(signed(OUT_HI), Y_WIDTH);

  -- The output logic for a root u with the rounding offset already added (see the
  -- header): y = clamp(overflow(round(u / 2**OUT_SHIFT)), LO_Y, HI_Y) is
  --   HI_Y where too_high(u), else LO_Y where too_low(u), else rounded(u).
  -- q: round(u / 2**OUT_SHIFT), wrapped into Y_WIDTH bits for OVERFLOW = wrap
  function rounded_wide(u : signed; qw : positive) return signed is
    constant UW : positive := u'length;
    variable un : signed(UW - 1 downto 0);
    variable q  : signed(qw - 1 downto 0);
  begin
    un := u;
    if OUT_SHIFT > 0 then
      q := resize(un(UW - 1 downto OUT_SHIFT), qw);
      if ROUNDING = EC_HALF_EVEN and un(OUT_SHIFT - 1 downto 0) = 0 then
        q(0) := '0';
      end if;
    else
      q := shift_left(resize(un, qw), -OUT_SHIFT);
    end if;
    if OVERFLOW = EC_WRAP then
      q := resize(q(Y_WIDTH - 1 downto 0), qw);
    end if;
    return q;
  end function;

  function q_width(uw : positive) return positive is
  begin
    return imax(uw - OUT_SHIFT, Y_WIDTH);
  end function;

  -- with saturation and a right shift, u is compared with thresholds (no rounding first)
  function by_threshold return boolean is
  begin
    return OVERFLOW = EC_SATURATE and OUT_SHIFT > 0;
  end function;

  function rounded(u : signed) return signed is
    constant QW : positive := q_width(u'length);
    variable q : signed(QW - 1 downto 0);
  begin
    q := rounded_wide(u, QW);
    return q(Y_WIDTH - 1 downto 0);
  end function;

  -- round(u / 2**OUT_SHIFT) >= v, for OUT_SHIFT > 0 and saturation: on floor(u / 2**OUT_SHIFT)
  -- and the low bits, in parallel with the rounding (a tie rounds down to an even v - 1
  -- where v is odd, for half_even)
  function at_least(u : signed; v : signed) return boolean is
    constant UW : positive := u'length;
    variable un : signed(UW - 1 downto 0);
    variable fl : signed(UW - OUT_SHIFT - 1 downto 0);
  begin
    un := u;
    fl := un(UW - 1 downto OUT_SHIFT);
    if ROUNDING = EC_HALF_EVEN and v(v'low) = '1' then
      return below(fl, v + 1) = '0' or (fl = v and un(OUT_SHIFT - 1 downto 0) /= 0);
    end if;
    return below(fl, v) = '0';
  end function;

  function too_high(u : signed) return boolean is
    constant QW : positive := q_width(u'length);
  begin
    if LO_Y > HI_Y then
      return true;
    elsif by_threshold then
      return at_least(u, resize(HI_Y, Y_WIDTH + 1) + 1);
    end if;
    return below(rounded_wide(u, QW), resize(HI_Y, Y_WIDTH + 1) + 1) = '0';
  end function;

  function too_low(u : signed) return boolean is
    constant QW : positive := q_width(u'length);
  begin
    if by_threshold then
      return not at_least(u, LO_Y);
    end if;
    return below(rounded_wide(u, QW), LO_Y) = '1';
  end function;

  function pick(q : signed; hi : boolean; lo : boolean) return signed is
  begin
    if hi then
      return HI_Y;
    elsif lo then
      return LO_Y;
    end if;
    return q;
  end function;

  signal ce     : std_logic := '0';
  signal nv     : std_logic_vector(OFF(NN) - 1 downto 0) := (others => '0');
  signal vq     : std_logic_vector(1 to STAGES) := (others => '0');
  signal lq     : std_logic_vector(1 to STAGES) := (others => '0');
  -- the result entering the output register, its valid and last
  signal n_data : std_logic_vector(OUT_FEATURES * Y_WIDTH - 1 downto 0);
  signal n_valid, n_last : std_logic;
begin
  assert G'length = NN * NF report "ec_linear_unrolled: GRAPH needs 9 integers a node"
    severity failure;
  assert R'length = OUT_FEATURES report "ec_linear_unrolled: ROOTS needs one node an output"
    severity failure;

  s_axis_tready <= ce;

  node_gen : for n in 0 to NN - 1 generate
    constant KIND : natural := field(n, F_KIND);
    constant W    : positive := field(n, F_WIDTH);
    constant DL   : natural := field(n, F_DELAY);
    constant LO   : natural := OFF(n);
  begin
    input_leaf : if KIND = K_INPUT generate
      constant I : natural := field(n, F_A);
    begin
      nv(LO + W - 1 downto LO) <= s_axis_tdata(I * X_WIDTH + X_WIDTH - 1 downto I * X_WIDTH);
    end generate;
    constant_leaf : if KIND = K_CONST generate
      constant O : natural := field(n, F_A);
    begin
      nv(LO + W - 1 downto LO) <= CN(O * C_WIDTH + C_WIDTH - 1 downto O * C_WIDTH);
    end generate;
    adder : if KIND = K_ADD generate
      constant A  : natural := field(n, F_A);
      constant B  : natural := field(n, F_B);
      constant ST : natural := field(n, F_STAGE);
      -- the operands as they were (stage difference) registers ago
      constant AL : natural := OFF(A) + (ST - field(A, F_STAGE)) * field(A, F_WIDTH);
      constant BL : natural := OFF(B) + (ST - field(B, F_STAGE)) * field(B, F_WIDTH);
    begin
      nv(LO + W - 1 downto LO) <= node_sum(
        nv(AL + field(A, F_WIDTH) - 1 downto AL), nv(BL + field(B, F_WIDTH) - 1 downto BL),
        field(n, F_K), W, field(n, F_FLAGS) mod 2 = 1);
    end generate;
    zero : if KIND /= K_INPUT and KIND /= K_CONST and KIND /= K_ADD generate
      nv(LO + W - 1 downto LO) <= (others => '0');
    end generate;
    delayed : if DL > 0 generate
      process (clk)
      begin
        if rising_edge(clk) then
          if ce = '1' then
            nv(LO + (DL + 1) * W - 1 downto LO + W) <= nv(LO + DL * W - 1 downto LO);
          end if;
        end if;
      end process;
    end generate;
  end generate;

  -- valid and last shift through the STAGES - 1 registers before the output register
  ctrl_proc : process (clk)
  begin
    if rising_edge(clk) then
      if ce = '1' then
        vq(1) <= s_axis_tvalid;
        lq(1) <= s_axis_tlast;
        for j in 2 to STAGES - 1 loop
          vq(j) <= vq(j - 1);
          lq(j) <= lq(j - 1);
        end loop;
      end if;
      if rst = '1' then
        vq <= (others => '0');
        lq <= (others => '0');
      end if;
    end if;
  end process;

  single : if STAGES = 1 generate
    n_valid <= s_axis_tvalid;
    n_last <= s_axis_tlast;
  end generate;
  several : if STAGES > 1 generate
    n_valid <= vq(STAGES - 1);
    n_last <= lq(STAGES - 1);
  end generate;

  -- output and skid registers; ce = the skid register is empty
  skid : entity work.ec_skid
    generic map (WIDTH => OUT_FEATURES * Y_WIDTH)
    port map (
      clk => clk, rst => rst, ce => ce, ce_copy => open,
      n_data => n_data, n_valid => n_valid, n_last => n_last,
      m_axis_tdata => m_axis_tdata, m_axis_tvalid => m_axis_tvalid,
      m_axis_tready => m_axis_tready, m_axis_tlast => m_axis_tlast
    );

  -- output logic: sign, requantize, clamp
  out_gen : for o in 0 to OUT_FEATURES - 1 generate
    constant RT : natural := R(o);
    constant W  : positive := field(RT, F_WIDTH);
    -- the root as the output logic's comparisons see it
    constant RL : natural := OFF(RT) + (STAGES - 1 - SPLIT_N - field(RT, F_STAGE)) * W;
    constant SH : natural := field(RT, F_SHIFT);
    constant UW : positive := imax(W + SH, OUT_SHIFT + 1);

    function root_value(bits : std_logic_vector) return signed is
      variable u : signed(UW - 1 downto 0);
    begin
      u := shift_left(resize(signed(bits), UW), SH);
      return u;
    end function;
  begin
    assert field(RT, F_FLAGS) / 2 = 0
      report "ec_linear_unrolled: a root must not be negative (the output logic has no negation)"
      severity failure;
    one_stage : if not SPLIT generate
      signal u : signed(UW - 1 downto 0);
    begin
      u <= root_value(nv(RL + W - 1 downto RL));
      n_data(o * Y_WIDTH + Y_WIDTH - 1 downto o * Y_WIDTH) <= std_logic_vector(
        pick(rounded(u), too_high(u), too_low(u)));
    end generate;
    two_stages : if SPLIT generate
      signal q : signed(Y_WIDTH - 1 downto 0) := (others => '0');
      signal hi, lo : boolean := false;
    begin
      process (clk)
        variable u : signed(UW - 1 downto 0);
      begin
        if rising_edge(clk) then
          if ce = '1' then
            u := root_value(nv(RL + W - 1 downto RL));
            q <= rounded(u);
            hi <= too_high(u);
            lo <= too_low(u);
          end if;
        end if;
      end process;
      n_data(o * Y_WIDTH + Y_WIDTH - 1 downto o * Y_WIDTH) <= std_logic_vector(pick(q, hi, lo));
    end generate;
  end generate;
end architecture rtl;

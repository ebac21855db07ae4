-- ec_linear_unrolled: fully unrolled fully-connected layer, one whole sample per beat and
-- one beat per clock:
--   y[o] = clamp(requantize(b[o] * 2**BIAS_SHIFT + sum_i w[o][i] * x[i], OUT_SHIFT), OUT_LO, OUT_HI)
-- No multipliers: every constant weight is recoded at elaboration into canonical signed
-- digits (CSD, w = sum d_k 2**k, d_k in {-1, 0, 1}, no two adjacent non-zero digits); each
-- non-zero digit is one term +-(x[i] << k) (wiring only), zero weights give no term. The
-- terms of one output (sorted by shift) and the bias are summed by a balanced adder tree.
-- Every tree node is sized to its own value range (MSB side) and keeps its known zero LSBs
-- out of the adder; each node carries a sign flag so that negative digits become
-- subtractions instead of negations (one final negation at the root at most).
-- Pipeline: STAGES register levels from input beat to output beat, under one clock enable
--   ce = not (m_axis_tvalid and not m_axis_tready) (= s_axis_tready).
-- STAGES - 1 registers sit evenly over the D adder levels plus the output logic (position 0
-- is the input register); the last one is the output register. tlast passes through.
-- Packing as in ec_linear: w[o][i] at bits (o*IN_FEATURES+i)*W_WIDTH, b[o] at o*B_WIDTH.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use work.ec_pkg.all;

entity ec_linear_unrolled is
  generic (
    IN_FEATURES  : positive;
    OUT_FEATURES : positive;
    X_WIDTH      : positive;
    W_WIDTH      : positive;
    B_WIDTH      : positive;
    Y_WIDTH      : positive;
    ACC_WIDTH    : positive;
    HAS_BIAS     : boolean := true;
    BIAS_SHIFT   : natural := 0;
    OUT_SHIFT    : integer := 0;
    ROUNDING     : natural := 2;
    OVERFLOW     : natural := 0;
    WEIGHTS      : std_logic_vector;
    BIASES       : std_logic_vector;
    OUT_LO       : std_logic_vector := x"8000000000000000";
    OUT_HI       : std_logic_vector := x"7FFFFFFFFFFFFFFF";
    STAGES       : positive := 1
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
  -- term sources
  constant SRC_BIAS : integer := -1;
  constant SRC_ZERO : integer := -2;
  constant CSD_LEN  : positive := W_WIDTH + 2;

  type int_arr is array (natural range <>) of integer;
  type bool_arr is array (natural range <>) of boolean;

  function bias(o : natural) return signed is
    variable bn : std_logic_vector(BIASES'length - 1 downto 0);
  begin
    bn := BIASES;
    return signed(bn(o * B_WIDTH + B_WIDTH - 1 downto o * B_WIDTH));
  end function;

  -- bit loops instead of numeric_std's signed/integer operators, which GHDL 2.0 cannot
  -- evaluate at elaboration when it synthesizes
  function is_zero(v : signed) return boolean is
  begin
    for k in v'range loop
      if v(k) /= '0' then
        return false;
      end if;
    end loop;
    return true;
  end function;


  -- CSD (non-adjacent form) digits of w: d(k) in {-1, 0, 1}, w = sum d(k) * 2**k
  function csd(w : signed) return int_arr is
    constant ONE : signed(CSD_LEN downto 0) := (0 => '1', others => '0');
    variable v : signed(CSD_LEN downto 0);
    variable d : int_arr(0 to CSD_LEN - 1) := (others => 0);
  begin
    v := resize(w, CSD_LEN + 1);
    for k in 0 to CSD_LEN - 1 loop
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
    assert is_zero(v) report "ec_linear_unrolled: CSD recoding failed" severity failure;
    return d;
  end function;

  -- CSD digits of all weights: digit k of w[o][i] at (o*IN_FEATURES+i)*CSD_LEN+k
  function csd_table return int_arr is
    variable r : int_arr(0 to OUT_FEATURES * IN_FEATURES * CSD_LEN - 1);
    variable wn : std_logic_vector(WEIGHTS'length - 1 downto 0);
    variable d : int_arr(0 to CSD_LEN - 1);
    variable p : natural;
  begin
    wn := WEIGHTS;
    for n in 0 to OUT_FEATURES * IN_FEATURES - 1 loop
      p := n * W_WIDTH;
      d := csd(signed(wn(p + W_WIDTH - 1 downto p)));
      for k in 0 to CSD_LEN - 1 loop
        r(n * CSD_LEN + k) := d(k);
      end loop;
    end loop;
    return r;
  end function;

  constant CSD_TAB : int_arr(0 to OUT_FEATURES * IN_FEATURES * CSD_LEN - 1) := csd_table;

  function digit(o, i, k : natural) return integer is
  begin
    return CSD_TAB((o * IN_FEATURES + i) * CSD_LEN + k);
  end function;

  function bias_terms return bool_arr is
    variable r : bool_arr(0 to OUT_FEATURES - 1) := (others => false);
  begin
    for o in 0 to OUT_FEATURES - 1 loop
      r(o) := HAS_BIAS and not is_zero(bias(o));
    end loop;
    return r;
  end function;

  constant BIAS_TERM : bool_arr(0 to OUT_FEATURES - 1) := bias_terms;

  -- number of tree leaves of output o (at least 1)
  function leaves(o : natural) return positive is
    variable n : natural := 0;
  begin
    for i in 0 to IN_FEATURES - 1 loop
      for k in 0 to CSD_LEN - 1 loop
        if digit(o, i, k) /= 0 then
          n := n + 1;
        end if;
      end loop;
    end loop;
    if BIAS_TERM(o) then
      n := n + 1;
    end if;
    return imax(1, n);
  end function;

  function max_leaves return positive is
    variable m : positive := 1;
  begin
    for o in 0 to OUT_FEATURES - 1 loop
      m := imax(m, leaves(o));
    end loop;
    return m;
  end function;

  constant NL : positive := max_leaves;
  constant DEPTH : natural := clog2(NL);  -- adder levels

  -- nodes of level L of an output with n leaves
  function level_count(n : positive; L : natural) return positive is
    variable c : positive := n;
  begin
    for k in 1 to L loop
      c := (c + 1) / 2;
    end loop;
    return c;
  end function;

  function leaf_counts return int_arr is
    variable r : int_arr(0 to OUT_FEATURES - 1);
  begin
    for o in 0 to OUT_FEATURES - 1 loop
      r(o) := leaves(o);
    end loop;
    return r;
  end function;

  constant LEAVES_OF : int_arr(0 to OUT_FEATURES - 1) := leaf_counts;

  -- first node id of each level (level-major, then output, then position); LBASE(DEPTH+1) = NN
  function level_bases return int_arr is
    variable r : int_arr(0 to DEPTH + 1);
    variable n : natural := 0;
  begin
    for L in 0 to DEPTH loop
      r(L) := n;
      for o in 0 to OUT_FEATURES - 1 loop
        n := n + level_count(LEAVES_OF(o), L);
      end loop;
    end loop;
    r(DEPTH + 1) := n;
    return r;
  end function;

  constant LBASE : int_arr(0 to DEPTH + 1) := level_bases;
  constant NN    : positive := LBASE(DEPTH + 1);

  -- One tree node: value = (neg ? -1 : 1) * signed(bits(w)) * 2**l.
  -- Level 0: a leaf (src = input index, SRC_BIAS or SRC_ZERO). Level > 0: sum of node pa
  -- (lower l) and node qb: bits = pa +/- (qb << k), k = l(qb) - l(pa); qb = -1: copy of pa.
  type node_t is record
    w   : positive;
    l   : natural;
    neg : boolean;
    off : natural;
    src : integer;
    o   : natural;
    pa  : integer;
    qb  : integer;
    sub : boolean;
    k   : natural;
  end record;
  type node_arr is array (natural range <>) of node_t;

  function build_nodes return node_arr is
    variable r : node_arr(0 to NN - 1);
    variable id, off, c, a, b, t : natural;
    variable top : integer;
  begin
    off := 0;
    -- leaves, sorted by shift, bias last
    id := 0;
    for o in 0 to OUT_FEATURES - 1 loop
      c := 0;
      for s in 0 to CSD_LEN - 1 loop
        for i in 0 to IN_FEATURES - 1 loop
          if digit(o, i, s) /= 0 then
            r(id + c) := (w => X_WIDTH, l => s, neg => digit(o, i, s) < 0, off => 0, src => i, o => o,
                          pa => -1, qb => -1, sub => false, k => 0);
            c := c + 1;
          end if;
        end loop;
      end loop;
      if BIAS_TERM(o) then
        r(id + c) := (w => B_WIDTH, l => BIAS_SHIFT, neg => false, off => 0, src => SRC_BIAS,
                      o => o, pa => -1, qb => -1, sub => false, k => 0);
        c := c + 1;
      end if;
      if c = 0 then
        r(id) := (w => 1, l => 0, neg => false, off => 0, src => SRC_ZERO, o => o,
                  pa => -1, qb => -1, sub => false, k => 0);
        c := 1;
      end if;
      for j in id to id + c - 1 loop
        r(j).off := off;
        off := off + r(j).w;
      end loop;
      id := id + c;
    end loop;
    -- adder levels
    for L in 1 to DEPTH loop
      for o in 0 to OUT_FEATURES - 1 loop
        -- children: nodes of level L-1 of output o
        t := LBASE(L - 1);
        for p in 0 to o - 1 loop
          t := t + level_count(LEAVES_OF(p), L - 1);
        end loop;
        c := level_count(LEAVES_OF(o), L - 1);
        for j in 0 to level_count(LEAVES_OF(o), L) - 1 loop
          if 2 * j + 1 < c then
            a := t + 2 * j;
            b := t + 2 * j + 1;
            if r(b).l < r(a).l then
              a := t + 2 * j + 1;
              b := t + 2 * j;
            end if;
            r(id) := r(a);
            r(id).src := SRC_ZERO;
            r(id).pa := a;
            r(id).qb := b;
            r(id).sub := r(a).neg /= r(b).neg;
            r(id).k := r(b).l - r(a).l;
            top := imax(r(a).w + r(a).l, r(b).w + r(b).l) + 1;
            -- the final sum fits ACC_WIDTH bits: work modulo 2**ACC_WIDTH (negation too)
            top := imin(top, ACC_WIDTH);
            r(id).w := top - r(a).l;
            assert r(id).w > r(id).k
              report "ec_linear_unrolled: ACC_WIDTH too small for the weights" severity failure;
          else
            r(id) := r(t + 2 * j);
            r(id).src := SRC_ZERO;
            r(id).pa := t + 2 * j;
            r(id).qb := -1;
            r(id).k := 0;
          end if;
          r(id).off := off;
          off := off + r(id).w;
          id := id + 1;
        end loop;
      end loop;
    end loop;
    return r;
  end function;

  constant NODES : node_arr(0 to NN - 1) := build_nodes;
  constant TOT   : positive := NODES(NN - 1).off + NODES(NN - 1).w;

  -- registers after each position 0 .. D (0: the input), STAGES - 1 of them in all
  function regs_at return int_arr is
    variable r : int_arr(0 to DEPTH) := (others => 0);
    variable p : natural;
  begin
    for j in 1 to STAGES - 1 loop
      p := (j * (DEPTH + 1)) / STAGES;
      r(p) := r(p) + 1;
    end loop;
    return r;
  end function;

  constant REGS : int_arr(0 to DEPTH) := regs_at;

  function level_lo(L : natural) return natural is
  begin
    return NODES(LBASE(L)).off;
  end function;

  function level_hi(L : natural) return natural is
  begin
    return NODES(LBASE(L + 1) - 1).off + NODES(LBASE(L + 1) - 1).w - 1;
  end function;

  function node_sum(p : std_logic_vector; q : std_logic_vector; k : natural; w : positive;
                    sub : boolean) return std_logic_vector is
    variable pe : signed(w - 1 downto 0);
    variable hs : signed(w - 1 downto 0);
    variable h  : signed(w - k - 1 downto 0);
    variable r  : signed(w - 1 downto 0);
  begin
    pe := resize(signed(p), w);
    hs := shift_right(pe, k);
    h := hs(w - k - 1 downto 0);
    if sub then
      h := h - resize(signed(q), w - k);
    else
      h := h + resize(signed(q), w - k);
    end if;
    r(w - 1 downto k) := h;
    if k > 0 then
      r(k - 1 downto 0) := pe(k - 1 downto 0);
    end if;
    return std_logic_vector(r);
  end function;

  constant LO_S : signed(OUT_LO'length - 1 downto 0) := signed(OUT_LO);
  constant HI_S : signed(OUT_HI'length - 1 downto 0) := signed(OUT_HI);

  type x_pipe_t is array (0 to REGS(0)) of std_logic_vector(IN_FEATURES * X_WIDTH - 1 downto 0);

  signal ce     : std_logic;
  signal xq     : x_pipe_t;
  signal nc     : std_logic_vector(TOT - 1 downto 0);  -- node values, before level registers
  signal nq     : std_logic_vector(TOT - 1 downto 0);  -- node values, after level registers
  signal vq     : std_logic_vector(1 to STAGES) := (others => '0');
  signal lq     : std_logic_vector(1 to STAGES) := (others => '0');
  signal m_data : std_logic_vector(OUT_FEATURES * Y_WIDTH - 1 downto 0) := (others => '0');
begin
  assert WEIGHTS'length = OUT_FEATURES * IN_FEATURES * W_WIDTH
    report "ec_linear_unrolled: WEIGHTS must have OUT_FEATURES*IN_FEATURES*W_WIDTH bits"
    severity failure;
  assert (not HAS_BIAS) or BIASES'length = OUT_FEATURES * B_WIDTH
    report "ec_linear_unrolled: BIASES must have OUT_FEATURES*B_WIDTH bits" severity failure;

  ce <= not (vq(STAGES) and not m_axis_tready);
  s_axis_tready <= ce;
  m_axis_tvalid <= vq(STAGES);
  m_axis_tlast <= lq(STAGES);
  m_axis_tdata <= m_data;

  -- input registers (position 0)
  xq(0) <= s_axis_tdata;
  x_regs : for j in 1 to REGS(0) generate
    process (clk)
    begin
      if rising_edge(clk) then
        if ce = '1' then
          xq(j) <= xq(j - 1);
        end if;
      end if;
    end process;
  end generate;

  -- tree nodes
  node_gen : for n in 0 to NN - 1 generate
    constant ND : node_t := NODES(n);
  begin
    input_leaf : if ND.src >= 0 generate
      nc(ND.off + ND.w - 1 downto ND.off) <=
        xq(REGS(0))(ND.src * X_WIDTH + X_WIDTH - 1 downto ND.src * X_WIDTH);
    end generate;
    bias_leaf : if ND.src = SRC_BIAS generate
      nc(ND.off + ND.w - 1 downto ND.off) <= std_logic_vector(bias(ND.o));
    end generate;
    zero_leaf : if ND.src = SRC_ZERO and ND.pa < 0 generate
      nc(ND.off + ND.w - 1 downto ND.off) <= (others => '0');
    end generate;
    copy : if ND.pa >= 0 and ND.qb < 0 generate
      constant PA : node_t := NODES(ND.pa);
    begin
      nc(ND.off + ND.w - 1 downto ND.off) <= nq(PA.off + PA.w - 1 downto PA.off);
    end generate;
    add : if ND.pa >= 0 and ND.qb >= 0 generate
      constant PA : node_t := NODES(ND.pa);
      constant QB : node_t := NODES(ND.qb);
    begin
      nc(ND.off + ND.w - 1 downto ND.off) <=
        node_sum(nq(PA.off + PA.w - 1 downto PA.off), nq(QB.off + QB.w - 1 downto QB.off),
                 ND.k, ND.w, ND.sub);
    end generate;
  end generate;

  -- level registers (positions 1 .. DEPTH); level 0 is wiring of the (registered) input
  level_gen : for L in 0 to DEPTH generate
    constant LO : natural := level_lo(L);
    constant HI : natural := level_hi(L);
  begin
    direct : if L = 0 or REGS(L) = 0 generate
      nq(HI downto LO) <= nc(HI downto LO);
    end generate;
    delayed : if L > 0 and REGS(L) > 0 generate
      type dl_t is array (1 to REGS(L)) of std_logic_vector(HI downto LO);
      signal dl : dl_t;
    begin
      process (clk)
      begin
        if rising_edge(clk) then
          if ce = '1' then
            dl(1) <= nc(HI downto LO);
            for j in 2 to REGS(L) loop
              dl(j) <= dl(j - 1);
            end loop;
          end if;
        end if;
      end process;
      nq(HI downto LO) <= dl(REGS(L));
    end generate;
  end generate;

  -- valid and last shift through STAGES registers
  ctrl_proc : process (clk)
  begin
    if rising_edge(clk) then
      if ce = '1' then
        vq(1) <= s_axis_tvalid;
        lq(1) <= s_axis_tlast;
        for j in 2 to STAGES loop
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

  -- output registers: sign, requantize, clamp
  out_gen : for o in 0 to OUT_FEATURES - 1 generate
    constant RT : node_t := NODES(LBASE(DEPTH) + o);
  begin
    process (clk)
      variable acc : signed(ACC_WIDTH - 1 downto 0);
    begin
      if rising_edge(clk) then
        if ce = '1' then
          acc := shift_left(resize(signed(nq(RT.off + RT.w - 1 downto RT.off)), ACC_WIDTH),
                            RT.l);
          if RT.neg then
            acc := -acc;
          end if;
          m_data(o * Y_WIDTH + Y_WIDTH - 1 downto o * Y_WIDTH) <= std_logic_vector(
            requantize_clamp(acc, OUT_SHIFT, ROUNDING, OVERFLOW, Y_WIDTH, LO_S, HI_S));
        end if;
      end if;
    end process;
  end generate;
end architecture rtl;

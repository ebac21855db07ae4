-- ec_pointwise: element-wise y = overflow(clamp(shift_round(x*MUL + ADD, SHIFT), LO, HI))
-- on LANES elements per beat, one beat per cycle.
-- PAD_LANES (default 0): number of padding lanes in the beat with tlast; they output zero.
-- No multiplier: the constant MUL is recoded at elaboration into canonical signed digits
-- (CSD, as in ec_linear_unrolled); every non-zero digit d(k) is a term +-(x << k), wiring
-- only. The terms (in ascending shift order, ADD as the last one) are summed by a balanced
-- tree of adders built at elaboration: a node holds its value with a sign taken out (so a
-- negative term is subtracted, never negated), each adder spans only the bits between the
-- known zero LSBs and the width of its value range. Bit-exact with x*MUL + ADD.
-- Latency: 4 cycles, every stage a short path. Stage 1: the terms and the adders of the
-- first two tree levels; stage 2: the other adders, the sum shifted right (floor) with the
-- rounding decision beside it; stage 3: the rounding bit added and, beside it, the
-- clamp/overflow comparisons; stage 4: the output register, selecting the value or a bound.
-- Backpressure: every register before the output register shares one clock enable ce
-- (= s_axis_tready), which ec_skid (the output register and a skid register behind it)
-- keeps as a register.
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
    s_axis_tready : out std_logic := '0';
    s_axis_tlast  : in  std_logic;
    m_axis_tdata  : out std_logic_vector(LANES * Y_WIDTH - 1 downto 0) := (others => '0');
    m_axis_tvalid : out std_logic := '0';
    m_axis_tready : in  std_logic;
    m_axis_tlast  : out std_logic := '0'
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

  -- x-terms (non-zero digits) and leaves of the adder tree (the x-terms, then ADD)
  function count_terms return natural is
    variable n : natural := 0;
  begin
    for k in 0 to ND - 1 loop
      if DIG(k) /= 0 then
        n := n + 1;
      end if;
    end loop;
    return n;
  end function;

  constant NT : natural := count_terms;
  function add_leaves return natural is
  begin
    if HAS_ADD then
      return 1;
    end if;
    return 0;
  end function;
  constant NL : natural := NT + add_leaves;
  constant MAXN : positive := 2 * NL + 1;

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

  -- Tree nodes: 0 .. NL-1 the leaves, then the adders, level by level (adjacent pairs, an
  -- odd one out moves up a level); the last node is the root. Per node F fields:
  constant F      : positive := 7;
  constant F_KIND : natural := 0;  -- >= 0: leaf x << k; -1: leaf ADD; -2: adder
  constant F_A    : natural := 1;  -- adder operands (node indices)
  constant F_B    : natural := 2;
  constant F_OP   : natural := 3;  -- 0: A + B, 1: A - B, 2: B - A
  constant F_SGN  : natural := 4;  -- true value = F_SGN * stored value
  constant F_Z    : natural := 5;  -- the stored value's low F_Z bits are zero
  constant F_W    : natural := 6;  -- the stored value fits F_W bits (TW: modulo 2**TW)
  -- the adder of a node spans bits F_LO .. F_W-1, the bits below are copied (no carry)
  -- field F_LO is derived below from F_OP and the operands' F_Z

  -- Width of x*c (stored coefficient c, no ADD): |x| <= 2**(X_WIDTH-1) and
  -- |c| <= 2**(m-1) - 1 for an m-bit c other than -2**(m-1), so x*c fits X_WIDTH + m - 1
  -- bits; c = -2**(m-1) needs one more.
  constant CW : positive := ND + 3;
  function coef_width(c : signed(CW - 1 downto 0)) return positive is
    variable m : positive;
    variable w : positive;
  begin
    m := min_width(c);
    w := X_WIDTH + m - 1;
    if c(CW - 1) = '1' and trailing_zeros(c) = m - 1 then
      w := w + 1;
    end if;
    return w;
  end function;

  function build_tree return integer_vector is
    constant ONE : signed(CW - 1 downto 0) := (0 => '1', others => '0');
    type coef_t is array (0 to MAXN - 1) of signed(CW - 1 downto 0);
    variable r : integer_vector(0 to F * MAXN) := (others => 0);  -- last: number of nodes
    variable coef : coef_t := (others => (others => '0'));
    variable hasadd : boolean_vector(0 to MAXN - 1) := (others => false);
    variable cur : integer_vector(0 to MAXN - 1) := (others => 0);
    variable ncur, nn, nnext, a, b, alo : natural;
    variable sa, sb : integer;
  begin
    nn := 0;
    for k in 0 to ND - 1 loop
      if DIG(k) /= 0 then
        r(F * nn + F_KIND) := k;
        r(F * nn + F_SGN) := DIG(k);
        r(F * nn + F_Z) := k;
        r(F * nn + F_W) := imin(X_WIDTH + k, TW);
        coef(nn) := shift_left(ONE, k);
        nn := nn + 1;
      end if;
    end loop;
    if HAS_ADD then
      -- coef stays 0: a node's stored value is x*coef, plus ADD where it holds the ADD leaf
      -- (a node holding it is never subtracted, so ADD always enters positively)
      r(F * nn + F_KIND) := -1;
      r(F * nn + F_SGN) := 1;
      r(F * nn + F_Z) := ADD_TZ;
      r(F * nn + F_W) := ADD'length;
      hasadd(nn) := true;
      nn := nn + 1;
    end if;
    for i in 0 to nn - 1 loop
      cur(i) := i;
    end loop;
    ncur := nn;
    while ncur > 1 loop
      nnext := 0;
      for j in 0 to MAXN - 1 loop
        exit when 2 * j >= ncur;
        if 2 * j + 1 < ncur then
          a := cur(2 * j);
          b := cur(2 * j + 1);
          sa := r(F * a + F_SGN);
          sb := r(F * b + F_SGN);
          r(F * nn + F_KIND) := -2;
          r(F * nn + F_A) := a;
          r(F * nn + F_B) := b;
          r(F * nn + F_Z) := imin(r(F * a + F_Z), r(F * b + F_Z));
          r(F * nn + F_SGN) := 1;
          if sa > 0 and sb < 0 then
            r(F * nn + F_OP) := 1;
            coef(nn) := coef(a) - coef(b);
            alo := r(F * b + F_Z);
          elsif sa < 0 and sb > 0 then
            r(F * nn + F_OP) := 2;
            coef(nn) := coef(b) - coef(a);
            alo := r(F * a + F_Z);
          else
            r(F * nn + F_OP) := 0;
            r(F * nn + F_SGN) := sa;
            coef(nn) := coef(a) + coef(b);
            alo := imax(r(F * a + F_Z), r(F * b + F_Z));
          end if;
          hasadd(nn) := hasadd(a) or hasadd(b);
          if hasadd(nn) then
            -- |x*coef + ADD| < 2**(wx-1) + 2**(wa-1): fits one bit more than the wider
            r(F * nn + F_W) := imin(imax(imax(coef_width(coef(nn)), min_width(ADD_S)) + 1,
                                         alo + 1), TW);
          else
            r(F * nn + F_W) := imin(imax(coef_width(coef(nn)), alo + 1), TW);
          end if;
          cur(nnext) := nn;
          nn := nn + 1;
        else
          cur(nnext) := cur(2 * j);
        end if;
        nnext := nnext + 1;
      end loop;
      ncur := nnext;
    end loop;
    r(F * MAXN) := nn;
    return r;
  end function;

  constant TREE : integer_vector(0 to F * MAXN) := build_tree;
  constant NN   : natural := TREE(F * MAXN);

  -- lowest bit of node i's adder
  function adder_lo(i : natural) return natural is
    constant ZA : natural := TREE(F * TREE(F * i + F_A) + F_Z);
    constant ZB : natural := TREE(F * TREE(F * i + F_B) + F_Z);
  begin
    case TREE(F * i + F_OP) is
      when 1 => return ZB;
      when 2 => return ZA;
      when others => return imax(ZA, ZB);
    end case;
  end function;

  type tval_t is array (0 to MAXN - 1) of signed(TW - 1 downto 0);

  -- adder level of every node (leaves 0): the nodes up to level CUT are summed in stage 1,
  -- the others in stage 2
  constant CUT : natural := 2;
  function node_levels return integer_vector is
    variable r : integer_vector(0 to MAXN - 1) := (others => 0);
  begin
    for i in 0 to NN - 1 loop
      if TREE(F * i + F_KIND) = -2 then
        r(i) := imax(r(TREE(F * i + F_A)), r(TREE(F * i + F_B))) + 1;
      end if;
    end loop;
    return r;
  end function;
  constant LEVEL : integer_vector(0 to MAXN - 1) := node_levels;

  -- the nodes of levels first .. last of t = x*MUL + ADD by shifts and adds (the others as
  -- in v0)
  function nodes(v0 : tval_t; x : signed(X_WIDTH - 1 downto 0); first : natural;
                 last : natural)
    return tval_t is
    variable v : tval_t;
    variable s : signed(TW - 1 downto 0);
    variable a : signed(TW - 1 downto 0);
    variable b : signed(TW - 1 downto 0);
  begin
    v := v0;
    for i in 0 to NN - 1 loop
      if LEVEL(i) < first or LEVEL(i) > last then
        null;
      elsif TREE(F * i + F_KIND) >= 0 then
        v(i) := shift_left(resize(x, TW), TREE(F * i + F_KIND));
      elsif TREE(F * i + F_KIND) = -1 then
        v(i) := resize(ADD_S, TW);
      else
        a := v(TREE(F * i + F_A));
        b := v(TREE(F * i + F_B));
        s := (others => '0');
        case TREE(F * i + F_OP) is
          when 1 =>
            s(TREE(F * i + F_W) - 1 downto adder_lo(i)) :=
              a(TREE(F * i + F_W) - 1 downto adder_lo(i)) -
              b(TREE(F * i + F_W) - 1 downto adder_lo(i));
            if adder_lo(i) > 0 then
              s(adder_lo(i) - 1 downto 0) := a(adder_lo(i) - 1 downto 0);
            end if;
          when 2 =>
            s(TREE(F * i + F_W) - 1 downto adder_lo(i)) :=
              b(TREE(F * i + F_W) - 1 downto adder_lo(i)) -
              a(TREE(F * i + F_W) - 1 downto adder_lo(i));
            if adder_lo(i) > 0 then
              s(adder_lo(i) - 1 downto 0) := b(adder_lo(i) - 1 downto 0);
            end if;
          when others =>
            s(TREE(F * i + F_W) - 1 downto adder_lo(i)) :=
              a(TREE(F * i + F_W) - 1 downto adder_lo(i)) +
              b(TREE(F * i + F_W) - 1 downto adder_lo(i));
            if adder_lo(i) > 0 then
              s(adder_lo(i) - 1 downto 0) :=
                a(adder_lo(i) - 1 downto 0) or b(adder_lo(i) - 1 downto 0);
            end if;
        end case;
        v(i) := resize(s(TREE(F * i + F_W) - 1 downto 0), TW);
      end if;
    end loop;
    return v;
  end function;

  -- t = x*MUL + ADD from all nodes
  function root(v : tval_t) return signed is
    variable s : signed(TW - 1 downto 0);
    variable a : signed(TW - 1 downto 0);
  begin
    if NN = 0 then
      return to_signed(0, TW);  -- MUL = 0 and ADD = 0
    end if;
    s := v(NN - 1);
    if TREE(F * (NN - 1) + F_SGN) < 0 then
      -- all terms negative after pairing and no ADD: negate above the zero LSBs
      a := (others => '0');
      a(TW - 1 downto TREE(F * (NN - 1) + F_Z)) :=
        -s(TW - 1 downto TREE(F * (NN - 1) + F_Z));
      return a;
    end if;
    return s;
  end function;

  -- apply_overflow(clamp(v, LO, HI), OVERFLOW, Y_WIDTH) in two steps: the comparisons of v
  -- with the bounds (side by side), then multiplexers. Saturation is monotone, so
  -- saturating after the clamp equals clamping the saturated value to the saturated
  -- bounds; wrap needs the clamp first. LO > HI always gives HI, as the sequential clamp
  -- does.
  constant BW : positive := imax(LO'length, imax(HI'length, Y_WIDTH));

  function bound(b : signed) return signed is
    variable r : signed(BW - 1 downto 0);
  begin
    if OVERFLOW = EC_WRAP then
      r := resize(b, BW);
    else
      r := resize(saturate(b, Y_WIDTH), BW);
    end if;
    return r;
  end function;

  constant L_B : signed(BW - 1 downto 0) := bound(LO_S);
  constant H_B : signed(BW - 1 downto 0) := bound(HI_S);

  -- the comparisons: bit 1 x < l, bit 0 x > h
  function compare(v : signed) return std_logic_vector is
    variable r : std_logic_vector(1 downto 0);
  begin
    r(1) := below(v, L_B);
    r(0) := not below(v, resize(H_B, BW + 1) + 1);  -- x > h: not x < h + 1
    return r;
  end function;

  -- y: the value's low Y_WIDTH bits (saturate: within [l, h] where no flag is set; wrap:
  -- the low bits)
  function clamp_select(y : signed; flags : std_logic_vector(1 downto 0)) return signed is
    variable r : signed(Y_WIDTH - 1 downto 0);
  begin
    if flags(1) = '1' then
      if L_B > H_B then
        r := H_B(Y_WIDTH - 1 downto 0);
      else
        r := L_B(Y_WIDTH - 1 downto 0);
      end if;
    elsif flags(0) = '1' then
      r := H_B(Y_WIDTH - 1 downto 0);
    else
      r := y;
    end if;
    -- every result lies in [l, h] (or is h): where l <= h, the bits above their highest
    -- differing one are the same for all of them (signed order is unsigned order when the
    -- signs agree; they differ otherwise), so these are constants (fewer registers)
    if L_B <= H_B then
      for k in BW - 1 downto 0 loop
        exit when L_B(k) /= H_B(k);
        if k < Y_WIDTH then
          r(k) := L_B(k);
        end if;
      end loop;
    end if;
    return r;
  end function;

  -- The stage 1 register holds, per lane, the sum shifted right (floor) and the rounding
  -- decision, as shift_round computes them: stage 2 adds the rounding bit. Without a right
  -- shift it holds the sum (shifted left in stage 2).
  function root_width return positive is
  begin
    if NN = 0 then
      return 1;
    elsif TREE(F * (NN - 1) + F_SGN) < 0 then
      return imin(TREE(F * (NN - 1) + F_W) + 1, TW);  -- negated: -(-2**(w-1)) needs w+1
    end if;
    return TREE(F * (NN - 1) + F_W);
  end function;
  constant ROOT_W : positive := root_width;
  constant SR     : natural := imax(SHIFT, 0);
  constant E      : positive := imax(ROOT_W, SR + 1) + 1;  -- as in shift_right_round
  -- bits of the stage register: floor(t / 2**SR) fits E - SR - 1 bits (1 + ROOT_W - SR)
  function stage_width return positive is
  begin
    if SHIFT > 0 then
      return E - SR - 1 + 1;  -- the quotient and the rounding bit (lowest)
    end if;
    return TW;
  end function;
  constant QW : positive := stage_width;

  function stage1(t : signed(TW - 1 downto 0)) return signed is
    variable ve : signed(E - 1 downto 0);
    variable q : signed(E - SR - 1 downto 0);
    variable up : std_logic;
    variable r : signed(QW - 1 downto 0);
  begin
    if SHIFT <= 0 then
      return t;
    end if;
    ve := resize(t(ROOT_W - 1 downto 0), E);  -- t fits ROOT_W bits
    q := ve(E - 1 downto SR);
    up := round_up_bit(ve, SR, ROUNDING);
    r(QW - 1 downto 1) := q(QW - 2 downto 0);  -- q fits E - SR - 1 bits
    r(0) := up;
    return r;
  end function;

  -- stage 3: the low Y_WIDTH bits of the shifted and rounded value r (RW bits) and its
  -- comparisons (bit 1: r < l, bit 0: r > h). With a right shift r = q + up for the
  -- quotient q and the rounding bit up, and the comparisons read q beside the addition:
  -- r < l exactly when q < l - up, r > h when not q < h + 1 - up.
  constant RW : positive := shift_round_width(QW, imin(SHIFT, 0));
  constant YW : positive := imax(RW, Y_WIDTH);
  constant L1 : signed(BW downto 0) := resize(L_B, BW + 1) - 1;
  constant H1 : signed(BW downto 0) := resize(H_B, BW + 1) + 1;
  constant H0 : signed(BW downto 0) := resize(H_B, BW + 1);

  function stage3_value(s : signed(QW - 1 downto 0)) return signed is
    variable r : signed(QW - 1 downto 0);
    variable one : signed(QW - 1 downto 0) := (others => '0');
    variable v : signed(YW - 1 downto 0);
  begin
    if SHIFT <= 0 then
      v := resize(shift_round(s, SHIFT, ROUNDING), YW);
    else
      one(0) := s(0);
      -- floor(t / 2**SR) + up fits QW bits (the quotient fits QW - 1)
      r := resize(s(QW - 1 downto 1), QW) + one;
      v := resize(r, YW);
    end if;
    return v(Y_WIDTH - 1 downto 0);
  end function;

  function stage3_flags(s : signed(QW - 1 downto 0)) return std_logic_vector is
    variable q : signed(QW - 2 downto 0);
    variable r : std_logic_vector(1 downto 0);
  begin
    if SHIFT <= 0 then
      return compare(shift_round(s, SHIFT, ROUNDING));
    end if;
    q := s(QW - 1 downto 1);
    if s(0) = '1' then
      r(1) := below(q, L1);
      r(0) := not below(q, H0);
    else
      r(1) := below(q, L_B);
      r(0) := not below(q, H1);
    end if;
    return r;
  end function;

  subtype tword_t is std_logic_vector(LANES * QW - 1 downto 0);

  signal ce      : std_logic := '0';
  signal ce_copy : std_logic_vector(0 to 3);
  -- stage 1: the tree nodes up to level CUT
  type tvals_t is array (0 to LANES - 1) of tval_t;
  signal v1      : tvals_t := (others => (others => (others => '0')));
  signal valid1  : std_logic := '0';
  signal last1   : std_logic := '0';
  -- stage 2: the sums (floor and rounding decision)
  signal t2      : tword_t := (others => '0');
  signal valid2  : std_logic := '0';
  signal last2   : std_logic := '0';
  -- stage 3: the value's low Y_WIDTH bits and its comparisons with the bounds
  type y_t is array (0 to LANES - 1) of signed(Y_WIDTH - 1 downto 0);
  type flags_t is array (0 to LANES - 1) of std_logic_vector(1 downto 0);
  signal y3      : y_t := (others => (others => '0'));
  signal f3      : flags_t := (others => (others => '0'));
  signal valid3  : std_logic := '0';
  signal last3   : std_logic := '0';
  -- the result entering the output register (ec_skid)
  signal data_n  : std_logic_vector(LANES * Y_WIDTH - 1 downto 0);
begin
  s_axis_tready <= ce;

  process (clk)
    variable x : signed(X_WIDTH - 1 downto 0);
    variable t : signed(QW - 1 downto 0);
    constant NONE : tval_t := (others => (others => '0'));
  begin
    if rising_edge(clk) then
      -- the valid and last bits move on ce, each lane's data registers on a copy of it
      -- (ce_copy: a quarter of the fan-out each); rst clears only the valid and last bits
      -- (below), so the enables need no logic of their own
      if ce = '1' then
        valid1 <= s_axis_tvalid;
        last1 <= s_axis_tlast;
        valid2 <= valid1;
        last2 <= last1;
        valid3 <= valid2;
        last3 <= last2;
      end if;
      for k in 0 to LANES - 1 loop
        if ce_copy(k mod 4) = '1' then
          -- stage 1: the terms and the adders up to level CUT
          x := signed(s_axis_tdata(k * X_WIDTH + X_WIDTH - 1 downto k * X_WIDTH));
          v1(k) <= nodes(NONE, x, 0, CUT);
          -- stage 2: the other adders, floor and rounding decision
          x := (others => '0');  -- the leaves are in v1
          t2(k * QW + QW - 1 downto k * QW) <=
            std_logic_vector(stage1(root(nodes(v1(k), x, CUT + 1, MAXN))));
          -- stage 3: rounded value and comparisons
          t := signed(t2(k * QW + QW - 1 downto k * QW));
          y3(k) <= stage3_value(t);
          f3(k) <= stage3_flags(t);
        end if;
      end loop;
      if rst = '1' then
        valid1 <= '0';
        last1 <= '0';
        valid2 <= '0';
        last2 <= '0';
        valid3 <= '0';
        last3 <= '0';
      end if;
    end if;
  end process;

  -- stage 4: select (into the output register or, while that waits, the skid register)
  select_gen : for k in 0 to LANES - 1 generate
    data_n(k * Y_WIDTH + Y_WIDTH - 1 downto k * Y_WIDTH) <=
      (others => '0') when last3 = '1' and k >= LANES - PAD_LANES
      else std_logic_vector(clamp_select(y3(k), f3(k)));
  end generate;

  -- output and skid registers; ce = the skid register is empty
  skid : entity work.ec_skid
    generic map (WIDTH => LANES * Y_WIDTH)
    port map (
      clk => clk, rst => rst, ce => ce, ce_copy => ce_copy,
      n_data => data_n, n_valid => valid3, n_last => last3,
      m_axis_tdata => m_axis_tdata, m_axis_tvalid => m_axis_tvalid,
      m_axis_tready => m_axis_tready, m_axis_tlast => m_axis_tlast
    );
end architecture rtl;

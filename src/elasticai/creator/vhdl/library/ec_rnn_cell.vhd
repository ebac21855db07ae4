-- ec_rnn_cell: the element-wise part of one recurrent layer (ops.recurrent.RecurrentOp):
-- gate pre-activations in, the new hidden state out, the state kept inside.
--   in:  per hidden unit j, its G gate pre-activations (format G) one per beat, units in
--        order, HIDDEN units a time step, STEPS steps a sequence:
--          CELL 0 (LSTM): i_j, f_j, g_j, o_j     CELL 1 (GRU): r_j, z_j, nx_j, nh_j
--          CELL 2 (RNN):  pre_j
--   out: h_j (format X), one per beat, in the same order.
-- Integer semantics (every product and sum exact; requantize = ec_pkg.requantize):
--   LSTM: i, f, o = F0(.) (sigmoid, G -> A); g = F1(.) (tanh, G -> A);
--         c' = requantize(f*c << SH_FC + i*g << SH_IG, SH_C -> C);
--         h  = requantize(o * F2(c'), SH_H -> X) (F2: tanh, C -> A); c_j := c'.
--   GRU:  r, z = F0(.); n = F1(requantize(nx << A_FRAC + r*nh, A_FRAC -> G));
--         h' = requantize((2**A_FRAC - z)*n << SH_ZN + z*h << SH_ZH, SH_H -> X); h_j := h'.
--   RNN:  h = F1(pre) (G -> X).
-- Fk are piecewise-linear functions as in ec_piecewise (segment k = number of j >= 1 with
-- x >= BREAKS[j]; y = apply_overflow(shift_round((x - BASES[k]) * MULS[k] + ADDS[k],
-- SHIFT, ROUNDING), OVERFLOW, out width)).
-- Shared hardware: ONE evaluation unit serves all three functions (their constants in one
-- table, selected by the job) and ONE multiplier all products of the state update. The
-- evaluation unit is a pipeline of eight register stages (segment and its copy; table read
-- and its copy: a block RAM's output is slow; multiply; add; shift and round; overflow): a
-- job issued in cycle c has its result from cycle c + EV (EV = 8). The multiplier's
-- operands and its product are registers (pa_q/pb_q, prod_q: a product is there PL = 2
-- ticks after its operands are chosen), a sum of two products is registered (sum_q) before
-- it is rounded, and a rounded value (rq) before its overflow, so no register-to-register
-- path holds more than one multiply, one add or one round. The products (prod_q, q_t) and
-- the evaluation unit's operands (d_x, d_m) are registers without enable or reset, in a
-- process of their own, so that a synthesizer can take them into its multiplier block;
-- likewise the gate beat's first two registers (in_x, iq_x) into the gate buffer's block RAM
-- and d_c into the constant table's.
-- The state (c for LSTM, h for GRU) of the current unit is read into a register (s_q)
-- while its gates are taken; it reads as zero in the first step of every sequence and
-- after reset.
-- One unit at a time: its G beats are taken one per cycle as they come (each issued to the
-- evaluation unit two cycles after it is taken), then a fixed schedule counted from the last
-- one (tick t is t cycles after it; the T_* and G_* constants below; with EV = 8, PL = 2):
--   LSTM: 8 f*c; 9 i*g; 10 partial := f*c; 11 sum_q := partial + i*g; 12 rq := round(sum_q);
--         13 c' := overflow(rq); 14 issue tanh(c'); 22 o*tanh(c'); 24 rq := round(o*tanh);
--         25 h' := overflow(rq) -> output register
--   GRU:  7 r*nh; 9 sum_q := nx + r*nh; 10 rq := round(sum_q); 11 n_pre := overflow(rq);
--         12 issue tanh(n_pre); 20 (1-z)*n; 21 z*h; 22 partial := (1-z)*n;
--         23 sum_q := partial + z*h; 24 rq := round(sum_q); 25 h' := overflow(rq) -> output
--   RNN:  the result of the job of the beat goes to the output register (tick EV + 1)
-- and the output beat leaves from the next cycle on (TAIL = 26, 26 and 10 cycles after the
-- last beat taken, when taken at once; ops.recurrent.CELL_TAIL); the next unit's beats are
-- taken after it.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use work.ec_pkg.all;

entity ec_rnn_cell is
  generic (
    CELL        : natural;               -- 0 LSTM, 1 GRU, 2 RNN
    HIDDEN      : positive;
    STEPS       : positive;
    G_WIDTH     : positive;
    A_WIDTH     : positive;              -- activation outputs (LSTM, GRU)
    C_WIDTH     : positive := 2;         -- LSTM cell
    X_WIDTH     : positive;              -- hidden state and output
    A_FRAC      : natural := 0;
    SH_FC       : natural := 0;
    SH_IG       : natural := 0;
    SH_C        : integer := 0;
    SH_ZN       : natural := 0;
    SH_ZH       : natural := 0;
    SH_H        : integer := 0;
    ROUNDING    : natural := 2;
    OVERFLOW    : natural := 0;
    -- piecewise functions: entries of BASES/MULS/ADDS are PW_B/PW_M/PW_A bits wide, of
    -- BREAKS the function's input width (F0, F1: G_WIDTH; F2: C_WIDTH)
    PW_B        : positive;
    PW_M        : positive;
    PW_A        : positive;
    PW_SHIFT    : natural;
    F0_SEGMENTS : positive := 1;
    F0_BREAKS   : std_logic_vector := x"00";
    F0_BASES    : std_logic_vector := x"00";
    F0_MULS     : std_logic_vector := x"00";
    F0_ADDS     : std_logic_vector := x"00";
    F1_SEGMENTS : positive;
    F1_BREAKS   : std_logic_vector;
    F1_BASES    : std_logic_vector;
    F1_MULS     : std_logic_vector;
    F1_ADDS     : std_logic_vector;
    F2_SEGMENTS : positive := 1;
    F2_BREAKS   : std_logic_vector := x"00";
    F2_BASES    : std_logic_vector := x"00";
    F2_MULS     : std_logic_vector := x"00";
    F2_ADDS     : std_logic_vector := x"00"
  );
  port (
    clk           : in  std_logic;
    rst           : in  std_logic;
    s_axis_tdata  : in  std_logic_vector(G_WIDTH - 1 downto 0);
    s_axis_tvalid : in  std_logic;
    s_axis_tready : out std_logic := '0';
    s_axis_tlast  : in  std_logic;
    m_axis_tdata  : out std_logic_vector(X_WIDTH - 1 downto 0) := (others => '0');
    m_axis_tvalid : out std_logic := '0';
    m_axis_tready : in  std_logic;
    m_axis_tlast  : out std_logic := '0';
    -- the step of the output beat is the last of its sequence (for the feedback)
    last_step     : out std_logic := '0'
  );
end entity ec_rnn_cell;

architecture rtl of ec_rnn_cell is
  function gates return positive is
  begin
    if CELL = 2 then
      return 1;
    end if;
    return 4;
  end function;
  constant G : positive := gates;

  function state_width return positive is
  begin
    if CELL = 0 then
      return C_WIDTH;
    end if;
    return X_WIDTH;
  end function;
  constant S_WIDTH : positive := state_width;

  -- the evaluation unit: inputs of F0/F1 (G) and F2 (C) in one width
  constant EW : positive := imax(G_WIDTH, C_WIDTH);
  constant MAXSEG : positive := imax(F0_SEGMENTS, imax(F1_SEGMENTS, F2_SEGMENTS));
  -- function f's segment k is entry f * SEGP + k of the tables: the index is f's two bits
  -- and k's SB bits side by side (no adder or multiplier before the table read)
  constant SB : positive := imax(1, clog2(MAXSEG));
  constant SEGP : positive := 2 ** SB;
  -- Entries 3 * SEGP .. 4 * SEGP - 1 (a fourth function) are never read; the last of the
  -- tables read in the pipeline (MULS_T, CONSTS_T) is -1, that of SEGMENTS_T non-zero:
  -- GHDL 2.0's synthesis turns a small table whose lowest 32 bits (its last entries) are
  -- all zero into a constant of zeros.
  type b_tab is array (0 to 4 * SEGP - 1) of signed(PW_B - 1 downto 0);
  type m_tab is array (0 to 4 * SEGP - 1) of signed(PW_M - 1 downto 0);
  type a_tab is array (0 to 4 * SEGP - 1) of signed(PW_A - 1 downto 0);
  -- (x - base) * mul + add = x * mul + (add - base * mul): the second term, a constant per
  -- segment, is one table (C_TAB), so the pipeline subtracts nothing before the multiply
  constant CW : positive := imax(PW_B + PW_M - 1, PW_A) + 1;
  type c_tab is array (0 to 4 * SEGP - 1) of signed(CW - 1 downto 0);

  -- entry j of a table generic (zero where the generic is shorter: a function the cell
  -- does not use keeps its default)
  function entry(v : std_logic_vector; j : natural; w : positive) return signed is
    constant vn : std_logic_vector(v'length - 1 downto 0) := v;
  begin
    if v'length < (j + 1) * w then
      return to_signed(0, w);
    end if;
    return signed(vn(j * w + w - 1 downto j * w));
  end function;

  function f_segments(f : natural) return positive is
  begin
    if f = 0 then
      return F0_SEGMENTS;
    elsif f = 1 then
      return F1_SEGMENTS;
    end if;
    return F2_SEGMENTS;
  end function;

  function load_b return b_tab is
    variable t : b_tab := (others => (others => '0'));
  begin
    for j in 0 to F0_SEGMENTS - 1 loop t(j) := entry(F0_BASES, j, PW_B); end loop;
    for j in 0 to F1_SEGMENTS - 1 loop t(SEGP + j) := entry(F1_BASES, j, PW_B); end loop;
    for j in 0 to F2_SEGMENTS - 1 loop t(2 * SEGP + j) := entry(F2_BASES, j, PW_B); end loop;
    return t;
  end function;

  function load_m return m_tab is
    variable t : m_tab := (others => (others => '0'));
  begin
    for j in 0 to F0_SEGMENTS - 1 loop t(j) := entry(F0_MULS, j, PW_M); end loop;
    for j in 0 to F1_SEGMENTS - 1 loop t(SEGP + j) := entry(F1_MULS, j, PW_M); end loop;
    for j in 0 to F2_SEGMENTS - 1 loop t(2 * SEGP + j) := entry(F2_MULS, j, PW_M); end loop;
    t(4 * SEGP - 1) := (others => '1');
    return t;
  end function;

  function load_a return a_tab is
    variable t : a_tab := (others => (others => '0'));
  begin
    for j in 0 to F0_SEGMENTS - 1 loop t(j) := entry(F0_ADDS, j, PW_A); end loop;
    for j in 0 to F1_SEGMENTS - 1 loop t(SEGP + j) := entry(F1_ADDS, j, PW_A); end loop;
    for j in 0 to F2_SEGMENTS - 1 loop t(2 * SEGP + j) := entry(F2_ADDS, j, PW_A); end loop;
    return t;
  end function;

  constant BASES_T : b_tab := load_b;
  constant MULS_T  : m_tab := load_m;
  constant ADDS_T  : a_tab := load_a;

  function load_c return c_tab is
    variable t : c_tab;
  begin
    for j in t'range loop
      t(j) := resize(ADDS_T(j), CW) - resize(BASES_T(j) * MULS_T(j), CW);
    end loop;
    t(4 * SEGP - 1) := (others => '1');
    return t;
  end function;
  constant CONSTS_T : c_tab := load_c;

  -- the segment of x in function f (its breaks compared side by side; constants)
  function segment(x : signed(EW - 1 downto 0); f : natural) return natural is
    variable k : natural range 0 to MAXSEG - 1 := 0;
  begin
    if f = 0 then
      for j in 1 to F0_SEGMENTS - 1 loop
        if x >= resize(entry(F0_BREAKS, j, G_WIDTH), EW) then k := j; end if;
      end loop;
    elsif f = 1 then
      for j in 1 to F1_SEGMENTS - 1 loop
        if x >= resize(entry(F1_BREAKS, j, G_WIDTH), EW) then k := j; end if;
      end loop;
    else
      for j in 1 to F2_SEGMENTS - 1 loop
        if x >= resize(entry(F2_BREAKS, j, C_WIDTH), EW) then k := j; end if;
      end loop;
    end if;
    return k;
  end function;

  -- narrow inputs: the segment of every input value in a table (a small ROM instead of a
  -- comparator per break)
  constant SEG_BY_TABLE : boolean := EW <= 9;
  function seg_entries return positive is
  begin
    if SEG_BY_TABLE then
      return 4 * 2 ** EW;
    end if;
    return 1;
  end function;
  type seg_tab is array (0 to seg_entries - 1) of natural range 0 to MAXSEG - 1;
  function load_segments return seg_tab is
    variable t : seg_tab := (others => 0);
  begin
    if SEG_BY_TABLE then
      for f in 0 to 2 loop
        for v in 0 to 2 ** EW - 1 loop
          t(f * 2 ** EW + v) := segment(signed(to_unsigned(v, EW)), f);
        end loop;
      end loop;
      t(4 * 2 ** EW - 1) := MAXSEG - 1;  -- never read (see b_tab)
    end if;
    return t;
  end function;
  constant SEGMENTS_T : seg_tab := load_segments;

  function segment_of(x : signed(EW - 1 downto 0); f : natural) return natural is
  begin
    if SEG_BY_TABLE then
      return SEGMENTS_T(to_integer(to_unsigned(f, 2) & unsigned(x)));  -- no adder
    end if;
    return segment(x, f);
  end function;

  constant TW : positive := imax(EW + PW_M, CW) + 1;
  -- the product unit: an activation (or 1 - z, two bits wider) times a state, an
  -- activation or a gate
  constant PA : positive := A_WIDTH + 2;
  constant PB : positive := imax(imax(A_WIDTH, C_WIDTH), imax(G_WIDTH, X_WIDTH));
  constant PP : positive := PA + PB;
  -- sums of two shifted products
  constant SW : positive := PP + imax(imax(SH_FC, SH_IG), imax(SH_ZN, SH_ZH)) + 1;
  constant NW : positive := imax(G_WIDTH + A_FRAC, PP) + 1;

  type state_t is (TAKE, WORK, SEND);
  signal phase : state_t := TAKE;
  signal gate  : natural range 0 to 3 := 0;  -- 0 to G - 1
  -- the schedule (ticks after the unit's last gate beat): EV = evaluation latency, PL =
  -- product latency; the job of a gate taken k beats before the last one is issued two
  -- cycles after its beat, so its result is there at tick EV + 2 - k
  constant EV : positive := 8;
  constant PL : positive := 2;
  -- LSTM
  constant T_FC    : natural := EV;            -- f * c (f: gate 1)
  constant T_IG    : natural := EV + 1;        -- i * g (g: gate 2)
  constant T_PART  : natural := T_FC + PL;     -- partial := f * c
  constant T_SUM   : natural := T_IG + PL;     -- sum_q := partial + i * g
  constant T_RND   : natural := T_SUM + 1;     -- rq := round(sum_q)
  constant T_SAT   : natural := T_RND + 1;     -- c' := overflow(rq)
  constant T_TANH  : natural := T_SAT + 1;     -- issue tanh(c')
  constant T_O     : natural := T_TANH + EV;   -- o * tanh(c')
  constant T_HR    : natural := T_O + PL;      -- rq := round(o * tanh(c'))
  -- GRU
  constant G_RNH   : natural := EV - 1;        -- r * nh (r: gate 0)
  constant G_SUM1  : natural := G_RNH + PL;    -- sum_q := nx + r * nh
  constant G_RND1  : natural := G_SUM1 + 1;    -- rq := round(sum_q)
  constant G_SAT1  : natural := G_RND1 + 1;    -- n_pre := overflow(rq)
  constant G_TANH  : natural := G_SAT1 + 1;    -- issue tanh(n_pre)
  constant G_ZN    : natural := G_TANH + EV;   -- (1 - z) * n
  constant G_ZH    : natural := G_ZN + 1;      -- z * h
  constant G_PART  : natural := G_ZN + PL;     -- partial := (1 - z) * n
  constant G_SUM2  : natural := G_ZH + PL;     -- sum_q := partial + z * h
  constant G_RND2  : natural := G_SUM2 + 1;    -- rq := round(sum_q)
  function schedule_end return natural is
  begin
    if CELL = 0 then
      return T_HR + 1;
    end if;
    return G_RND2 + 1;
  end function;
  constant LAST_TICK : natural := schedule_end;   -- h' := overflow(rq) -> output register
  signal tick  : natural range 0 to LAST_TICK := 0;
  signal unit  : natural range 0 to HIDDEN - 1 := 0;
  signal step  : natural range 0 to STEPS - 1 := 0;

  type acts_t is array (0 to 3) of signed(A_WIDTH - 1 downto 0);
  signal act : acts_t := (others => (others => '0'));     -- i, f, g, o / r, z
  signal evr : signed(A_WIDTH - 1 downto 0) := (others => '0');  -- tanh(c') / n
  signal raw_nx, raw_nh : signed(G_WIDTH - 1 downto 0) := (others => '0');  -- GRU
  -- the GRU's nx (nh) was taken two cycles before: raw_nx (raw_nh) loads from iq_x, so
  -- the gate buffer's read data has one reader, in_x (its block RAM's read register), and
  -- in_x one, iq_x; they are first read at tick G_RNH (G_SUM1), long after
  signal took_nx, took_nh, took_nx_q, took_nh_q : boolean := false;
  signal mixed : signed(EW - 1 downto 0) := (others => '0');  -- c' / n_pre
  signal partial : signed(SW - 1 downto 0) := (others => '0');  -- the first product, shifted
  signal pa_q : signed(PA - 1 downto 0) := (others => '0');  -- the multiplier's operands
  signal pb_q : signed(PB - 1 downto 0) := (others => '0');
  signal prod_q : signed(PP - 1 downto 0) := (others => '0');  -- the multiplier's product
  signal sum_q : signed(imax(SW, NW) - 1 downto 0) := (others => '0');  -- before rounding
  signal s_q : signed(S_WIDTH - 1 downto 0) := (others => '0');  -- the unit's state
  -- a shifted and rounded value before its overflow (c', h' or n_pre), wide enough for all
  constant RQW : positive := imax(imax(shift_round_width(SW, SH_C), shift_round_width(PP, SH_H)),
                                  imax(shift_round_width(NW, A_FRAC), shift_round_width(SW, SH_H)));
  signal rq : signed(RQW - 1 downto 0) := (others => '0');

  -- the evaluation pipeline: job destination 0-3 act(k), 4 evr, 5 the output (RNN)
  signal in_v    : std_logic := '0';  -- a taken gate beat's job, issued in the next cycle
  -- in_x, iq_x: the gate as it leaves the buffer, G_WIDTH bits (one flip-flop a bit of
  -- the buffer's read data: iq_x can be its block RAM's output register), widened at use
  signal in_x    : signed(G_WIDTH - 1 downto 0) := (others => '0');
  signal in_f    : natural range 0 to 2 := 0;
  signal in_dest : natural range 0 to 5 := 0;
  signal iq_v    : std_logic := '0';
  signal iq_x    : signed(G_WIDTH - 1 downto 0) := (others => '0');
  signal iq_f    : natural range 0 to 2 := 0;
  signal iq_dest : natural range 0 to 5 := 0;
  signal a_valid : std_logic := '0';
  signal a_x     : signed(EW - 1 downto 0) := (others => '0');
  signal a_f     : natural range 0 to 2 := 0;
  signal a_k     : natural range 0 to MAXSEG - 1 := 0;
  signal a_dest  : natural range 0 to 5 := 0;
  signal k_valid : std_logic := '0';  -- the segment again: a block RAM's output is slow
  signal k_x     : signed(EW - 1 downto 0) := (others => '0');
  signal k_f     : natural range 0 to 2 := 0;
  signal k_k     : natural range 0 to MAXSEG - 1 := 0;
  signal k_dest  : natural range 0 to 5 := 0;
  signal e_valid : std_logic := '0';
  signal e_x     : signed(EW - 1 downto 0) := (others => '0');
  signal e_m     : signed(PW_M - 1 downto 0) := (others => '0');
  signal e_c     : signed(CW - 1 downto 0) := (others => '0');
  signal e_dest  : natural range 0 to 5 := 0;
  signal d_valid : std_logic := '0';
  signal d_x     : signed(EW - 1 downto 0) := (others => '0');
  signal d_m     : signed(PW_M - 1 downto 0) := (others => '0');
  signal d_c     : signed(CW - 1 downto 0) := (others => '0');
  signal d_dest  : natural range 0 to 5 := 0;
  signal q_valid : std_logic := '0';
  signal q_t     : signed(EW + PW_M - 1 downto 0) := (others => '0');  -- x * mul
  signal q_c     : signed(CW - 1 downto 0) := (others => '0');
  signal q_dest  : natural range 0 to 5 := 0;
  signal b_valid : std_logic := '0';
  signal b_t     : signed(TW - 1 downto 0) := (others => '0');
  signal b_dest  : natural range 0 to 5 := 0;
  constant RTW   : positive := shift_round_width(TW, PW_SHIFT);
  signal r_valid : std_logic := '0';
  signal r_t     : signed(RTW - 1 downto 0) := (others => '0');
  signal r_dest  : natural range 0 to 5 := 0;

  type states_t is array (0 to HIDDEN - 1) of signed(S_WIDTH - 1 downto 0);
  signal state : states_t := (others => (others => '0'));

  signal out_data : std_logic_vector(X_WIDTH - 1 downto 0) := (others => '0');
  signal out_valid : std_logic := '0';
  signal out_last : std_logic := '0';
  signal out_last_step : std_logic := '0';
begin
  s_axis_tready <= '1' when phase = TAKE and rst = '0' else '0';
  m_axis_tdata <= out_data;
  m_axis_tvalid <= out_valid;
  m_axis_tlast <= out_last;
  last_step <= out_last_step;

  -- the multipliers' registers (the header) and the two registers after the gate buffer
  -- (in_x and iq_x, which a synthesizer may take into the buffer's block RAM as its read
  -- and output registers): no enable, no reset
  mul_proc : process (clk)
  begin
    if rising_edge(clk) then
      in_x <= signed(s_axis_tdata);
      iq_x <= in_x;
      if CELL /= 2 then  -- an RNN has no products
        prod_q <= pa_q * pb_q;
      end if;
      d_x <= e_x;
      d_m <= e_m;
      d_c <= e_c;  -- the constant table's block RAM output register, like d_m
      q_t <= d_x * d_m;
    end if;
  end process;

  process (clk)
    variable s : signed(S_WIDTH - 1 downto 0);
    variable issue : boolean;
    variable ev_x : signed(EW - 1 downto 0);
    variable ev_f : natural range 0 to 2;
    variable ev_dest : natural range 0 to 5;
    variable pa_v : signed(PA - 1 downto 0);
    variable pb_v : signed(PB - 1 downto 0);
    variable prod : signed(PP - 1 downto 0);
    variable sum2 : signed(SW - 1 downto 0);
    variable nsum : signed(NW - 1 downto 0);
    variable y : signed(X_WIDTH - 1 downto 0);
    variable taken_last : boolean;
    variable t_idx : natural range 0 to 4 * SEGP - 1;
  begin
    if rising_edge(clk) then
      if rst /= '0' then
        phase <= TAKE;
        gate <= 0;
        tick <= 0;
        unit <= 0;
        took_nx <= false;
        took_nh <= false;
        took_nx_q <= false;
        took_nh_q <= false;
        step <= 0;
        in_v <= '0';
        iq_v <= '0';
        a_valid <= '0';
        k_valid <= '0';
        e_valid <= '0';
        d_valid <= '0';
        q_valid <= '0';
        b_valid <= '0';
        r_valid <= '0';
        out_valid <= '0';
        out_last <= '0';
        out_last_step <= '0';
      else
        -- the state of this unit (zero in the first step of a sequence), read while its
        -- gates are taken: the unit and the state do not change before its output
        s := s_q;
        if phase = TAKE then
          if step = 0 then
            s_q <= (others => '0');
          else
            s_q <= state(unit);
          end if;
        end if;

        -- what this cycle issues to the evaluation unit and multiplies
        -- a gate beat's job is issued two cycles after the beat is taken, from registers
        -- (in_*, then iq_*): the beat's path from the gate buffer ends in the first (which a
        -- synthesizer may take into the buffer's block RAM as its read register), the
        -- second (its output register there) is before the segment's table
        issue := iq_v = '1';
        ev_x := resize(iq_x, EW);
        ev_f := iq_f;
        ev_dest := iq_dest;
        iq_v <= in_v;
        iq_f <= in_f;
        iq_dest <= in_dest;
        pa_v := (others => '0');
        pb_v := (others => '0');
        taken_last := false;
        in_v <= '0';
        in_f <= 0;
        in_dest <= gate;
        if phase = TAKE and s_axis_tvalid = '1' then
          taken_last := gate = G - 1;
          if CELL = 2 then
            in_v <= '1';
            in_f <= 1;
            in_dest <= 5;
          elsif CELL = 0 or gate < 2 then
            in_v <= '1';
            if CELL = 0 and gate = 2 then
              in_f <= 1;
            end if;
          end if;
        elsif phase = WORK then
          -- (if/elsif, not case: GHDL writes a VHDL case as a Verilog case without a
          -- default, which Yosys turns into latches)
          if CELL = 0 then
            if tick = T_FC then  -- f * c
              pa_v := resize(act(1), PA);
              pb_v := resize(s, PB);
            elsif tick = T_IG then  -- i * g
              pa_v := resize(act(0), PA);
              pb_v := resize(act(2), PB);
            elsif tick = T_TANH then  -- tanh(c')
              issue := true;
              ev_x := mixed;
              ev_f := 2;
              ev_dest := 4;
            elsif tick = T_O then  -- o * tanh(c')
              pa_v := resize(act(3), PA);
              pb_v := resize(evr, PB);
            end if;
          elsif CELL = 1 then
            if tick = G_RNH then  -- r * nh
              pa_v := resize(act(0), PA);
              pb_v := resize(raw_nh, PB);
            elsif tick = G_TANH then  -- tanh(n_pre)
              issue := true;
              ev_x := mixed;
              ev_f := 1;
              ev_dest := 4;
            elsif tick = G_ZN then  -- (1 - z) * n
              pa_v := shift_left(to_signed(1, PA), A_FRAC) - resize(act(1), PA);
              pb_v := resize(evr, PB);
            elsif tick = G_ZH then  -- z * h
              pa_v := resize(act(1), PA);
              pb_v := resize(s, PB);
            end if;
          end if;
        end if;
        if CELL /= 2 then  -- an RNN has no products
          pa_q <= pa_v;
          pb_q <= pb_v;
        end if;
        prod := prod_q;

        -- the evaluation pipeline: segment; table read; copy; multiply; add; round; overflow
        a_valid <= '0';
        if issue then
          a_valid <= '1';
          a_x <= ev_x;
          a_f <= ev_f;
          a_k <= segment_of(ev_x, ev_f);
          a_dest <= ev_dest;
        end if;
        k_valid <= a_valid;
        k_dest <= a_dest;
        k_x <= a_x;
        k_f <= a_f;
        k_k <= a_k;
        e_valid <= k_valid;
        e_dest <= k_dest;
        e_x <= k_x;
        t_idx := to_integer(to_unsigned(k_f, 2) & to_unsigned(k_k, SB));
        e_m <= MULS_T(t_idx);
        e_c <= CONSTS_T(t_idx);
        d_valid <= e_valid;
        d_dest <= e_dest;
        q_valid <= d_valid;
        q_dest <= d_dest;
        q_c <= d_c;
        b_valid <= q_valid;
        b_dest <= q_dest;
        b_t <= resize(q_t, TW) + resize(q_c, TW);
        r_valid <= b_valid;
        r_dest <= b_dest;
        r_t <= shift_round(b_t, PW_SHIFT, ROUNDING);
        if r_valid = '1' then
          if r_dest < 4 then
            -- one register per activation: with act(r_dest) written at a variable index,
            -- GHDL 2.0's synthesis lost the registers (the Verilog held act in a loop)
            for k in 0 to 3 loop
              if r_dest = k then
                act(k) <= apply_overflow(r_t, OVERFLOW, A_WIDTH);
              end if;
            end loop;
          elsif r_dest = 4 then
            evr <= apply_overflow(r_t, OVERFLOW, A_WIDTH);
          else  -- the RNN's output
            out_data <= std_logic_vector(apply_overflow(r_t, OVERFLOW, X_WIDTH));
            out_valid <= '1';
            phase <= SEND;
          end if;
        end if;

        if took_nx_q then
          raw_nx <= iq_x;
        end if;
        if took_nh_q then
          raw_nh <= iq_x;
        end if;
        took_nx_q <= took_nx;
        took_nh_q <= took_nh;
        took_nx <= false;
        took_nh <= false;
        if phase = TAKE then
          if s_axis_tvalid = '1' then
            if CELL = 1 and gate = 2 then
              took_nx <= true;
            elsif CELL = 1 and gate = 3 then
              took_nh <= true;
            end if;
            if taken_last then
              gate <= 0;
              tick <= 1;
              phase <= WORK;
            else
              gate <= gate + 1;
            end if;
          end if;
        elsif phase = WORK then
          if tick /= LAST_TICK then
            tick <= tick + 1;
          end if;
          if CELL = 0 then
            if tick = T_PART then
              partial <= shift_left(resize(prod, SW), SH_FC);
            elsif tick = T_SUM then
              sum_q <= resize(partial + shift_left(resize(prod, SW), SH_IG), sum_q'length);
            elsif tick = T_RND then
              sum2 := resize(sum_q, SW);
              rq <= resize(shift_round(sum2, SH_C, ROUNDING), RQW);
            elsif tick = T_SAT then
              mixed <= resize(apply_overflow(rq, OVERFLOW, C_WIDTH), EW);
            elsif tick = T_HR then
              rq <= resize(shift_round(prod, SH_H, ROUNDING), RQW);
            elsif tick = LAST_TICK then
              y := apply_overflow(rq, OVERFLOW, X_WIDTH);
              state(unit) <= resize(mixed, S_WIDTH);
              out_data <= std_logic_vector(y);
              out_valid <= '1';
              phase <= SEND;
            end if;
          elsif CELL = 1 then
            if tick = G_SUM1 then
              nsum := shift_left(resize(raw_nx, NW), A_FRAC) + resize(prod, NW);
              sum_q <= resize(nsum, sum_q'length);
            elsif tick = G_RND1 then
              nsum := resize(sum_q, NW);
              rq <= resize(shift_round(nsum, A_FRAC, ROUNDING), RQW);
            elsif tick = G_SAT1 then
              mixed <= resize(apply_overflow(rq, OVERFLOW, G_WIDTH), EW);
            elsif tick = G_PART then
              partial <= shift_left(resize(prod, SW), SH_ZN);
            elsif tick = G_SUM2 then
              sum_q <= resize(partial + shift_left(resize(prod, SW), SH_ZH), sum_q'length);
            elsif tick = G_RND2 then
              sum2 := resize(sum_q, SW);
              rq <= resize(shift_round(sum2, SH_H, ROUNDING), RQW);
            elsif tick = LAST_TICK then
              y := apply_overflow(rq, OVERFLOW, X_WIDTH);
              state(unit) <= resize(y, S_WIDTH);
              out_data <= std_logic_vector(y);
              out_valid <= '1';
              phase <= SEND;
            end if;
          end if;
        else  -- SEND
          if m_axis_tready = '1' then
            out_valid <= '0';
            phase <= TAKE;
            if unit = HIDDEN - 1 then
              unit <= 0;
              if step = STEPS - 1 then
                step <= 0;
              else
                step <= step + 1;
              end if;
            else
              unit <= unit + 1;
            end if;
          end if;
        end if;
        -- tlast and last_step describe the beat on the output
        if phase /= SEND then
          if unit = HIDDEN - 1 and step = STEPS - 1 then
            out_last <= '1';
          else
            out_last <= '0';
          end if;
          if step = STEPS - 1 then
            out_last_step <= '1';
          else
            out_last_step <= '0';
          end if;
        end if;
      end if;
    end if;
  end process;
end architecture rtl;

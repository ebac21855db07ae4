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
-- SHIFT, ROUNDING), OVERFLOW, out width)), one shared evaluation per function.
-- The state (c for LSTM, h for GRU) reads as zero in the first step of every sequence and
-- after reset. One unit at a time: its G beats are taken one per cycle as they come
-- (F0/F1 evaluated as each is taken), then two cycles of arithmetic, then the output beat
-- waits to be taken; a unit takes at least G + 3 cycles.
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

  -- F1's output: A, or X for the RNN
  function f1_width return positive is
  begin
    if CELL = 2 then
      return X_WIDTH;
    end if;
    return A_WIDTH;
  end function;
  constant F1_W : positive := f1_width;

  function state_width return positive is
  begin
    if CELL = 0 then
      return C_WIDTH;
    end if;
    return X_WIDTH;
  end function;
  constant S_WIDTH : positive := state_width;

  -- piecewise evaluation, as ec_piecewise computes it
  function pw(x : signed; segments : positive; breaks, bases, muls, adds : std_logic_vector;
              out_width : positive) return signed is
    constant XW : positive := x'length;
    constant BR : std_logic_vector(breaks'length - 1 downto 0) := breaks;
    constant BA : std_logic_vector(bases'length - 1 downto 0) := bases;
    constant MU : std_logic_vector(muls'length - 1 downto 0) := muls;
    constant AD : std_logic_vector(adds'length - 1 downto 0) := adds;
    constant DW : positive := imax(XW, PW_B) + 1;
    constant PW : positive := DW + PW_M;
    constant TW : positive := imax(PW, PW_A) + 1;
    variable k : natural range 0 to segments - 1 := 0;
    variable d : signed(DW - 1 downto 0);
    variable t : signed(TW - 1 downto 0);
    variable b : signed(PW_B - 1 downto 0);
    variable m : signed(PW_M - 1 downto 0);
    variable a : signed(PW_A - 1 downto 0);
  begin
    for j in 1 to segments - 1 loop
      if x >= signed(BR(j * XW + XW - 1 downto j * XW)) then
        k := j;
      end if;
    end loop;
    b := signed(BA(k * PW_B + PW_B - 1 downto k * PW_B));
    m := signed(MU(k * PW_M + PW_M - 1 downto k * PW_M));
    a := signed(AD(k * PW_A + PW_A - 1 downto k * PW_A));
    d := resize(x, DW) - resize(b, DW);
    t := resize(d * m, TW) + resize(a, TW);
    return requantize(t, PW_SHIFT, ROUNDING, OVERFLOW, out_width);
  end function;

  type state_t is (TAKE, MIX, SQUASH, SEND);
  signal phase : state_t := TAKE;
  signal gate  : natural range 0 to G - 1 := 0;
  signal unit  : natural range 0 to HIDDEN - 1 := 0;
  signal step  : natural range 0 to STEPS - 1 := 0;

  type acts_t is array (0 to 3) of signed(A_WIDTH - 1 downto 0);
  signal act : acts_t := (others => (others => '0'));     -- i, f, g, o / r, z
  signal raw_nx, raw_nh : signed(G_WIDTH - 1 downto 0) := (others => '0');  -- GRU
  signal mixed : signed(imax(C_WIDTH, G_WIDTH) - 1 downto 0) := (others => '0');  -- c' / n_pre

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

  process (clk)
    variable x : signed(G_WIDTH - 1 downto 0);
    variable s : signed(S_WIDTH - 1 downto 0);
    -- LSTM: f*c << SH_FC + i*g << SH_IG
    constant LW : positive := imax(A_WIDTH + C_WIDTH + SH_FC, 2 * A_WIDTH + SH_IG) + 1;
    variable lsum : signed(LW - 1 downto 0);
    -- GRU: nx << A_FRAC + r*nh
    constant NW : positive := imax(G_WIDTH + A_FRAC, A_WIDTH + G_WIDTH) + 1;
    variable nsum : signed(NW - 1 downto 0);
    -- GRU: (2**A_FRAC - z)*n << SH_ZN + z*h << SH_ZH
    constant ZW : positive := imax(2 * A_WIDTH + 2 + SH_ZN, A_WIDTH + X_WIDTH + SH_ZH) + 1;
    variable zsum : signed(ZW - 1 downto 0);
    variable one_minus_z : signed(A_WIDTH + 1 downto 0);
    variable tanh_c : signed(A_WIDTH - 1 downto 0);
    variable n : signed(A_WIDTH - 1 downto 0);
    variable y : signed(X_WIDTH - 1 downto 0);
  begin
    if rising_edge(clk) then
      if rst /= '0' then
        phase <= TAKE;
        gate <= 0;
        unit <= 0;
        step <= 0;
        out_valid <= '0';
        out_last <= '0';
        out_last_step <= '0';
      else
        -- the state of this unit; zero in the first step of a sequence
        s := state(unit);
        if step = 0 then
          s := (others => '0');
        end if;
        case phase is
          when TAKE =>
            if s_axis_tvalid = '1' then
              x := signed(s_axis_tdata);
              if CELL = 2 then
                out_data <= std_logic_vector(
                  pw(x, F1_SEGMENTS, F1_BREAKS, F1_BASES, F1_MULS, F1_ADDS, X_WIDTH));
                phase <= SEND;
                out_valid <= '1';
              else
                if CELL = 1 and gate = 2 then
                  raw_nx <= x;
                elsif CELL = 1 and gate = 3 then
                  raw_nh <= x;
                elsif CELL = 0 and gate = 2 then
                  act(2) <= pw(x, F1_SEGMENTS, F1_BREAKS, F1_BASES, F1_MULS, F1_ADDS, A_WIDTH);
                else
                  act(gate) <= pw(x, F0_SEGMENTS, F0_BREAKS, F0_BASES, F0_MULS, F0_ADDS, A_WIDTH);
                end if;
                if gate = G - 1 then
                  gate <= 0;
                  phase <= MIX;
                else
                  gate <= gate + 1;
                end if;
              end if;
            end if;
          when MIX =>
            if CELL = 0 then
              lsum := shift_left(resize(act(1) * s, LW), SH_FC)
                      + shift_left(resize(act(0) * act(2), LW), SH_IG);
              mixed <= resize(requantize(lsum, SH_C, ROUNDING, OVERFLOW, C_WIDTH), mixed'length);
            elsif CELL = 1 then
              nsum := shift_left(resize(raw_nx, NW), A_FRAC) + resize(act(0) * raw_nh, NW);
              mixed <= resize(requantize(nsum, A_FRAC, ROUNDING, OVERFLOW, G_WIDTH), mixed'length);
            end if;
            phase <= SQUASH;
          when SQUASH =>
            if CELL = 0 then
              tanh_c := pw(mixed(C_WIDTH - 1 downto 0), F2_SEGMENTS, F2_BREAKS, F2_BASES,
                           F2_MULS, F2_ADDS, A_WIDTH);
              y := requantize(act(3) * tanh_c, SH_H, ROUNDING, OVERFLOW, X_WIDTH);
              state(unit) <= mixed(C_WIDTH - 1 downto 0);
            elsif CELL = 1 then
              n := pw(mixed(G_WIDTH - 1 downto 0), F1_SEGMENTS, F1_BREAKS, F1_BASES, F1_MULS,
                      F1_ADDS, A_WIDTH);
              one_minus_z := shift_left(to_signed(1, A_WIDTH + 2), A_FRAC) - resize(act(1), A_WIDTH + 2);
              zsum := shift_left(resize(one_minus_z * n, ZW), SH_ZN)
                      + shift_left(resize(act(1) * s, ZW), SH_ZH);
              y := requantize(zsum, SH_H, ROUNDING, OVERFLOW, X_WIDTH);
              state(unit) <= resize(y, S_WIDTH);
            end if;
            out_data <= std_logic_vector(y);
            out_valid <= '1';
            phase <= SEND;
          when SEND =>
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
        end case;
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

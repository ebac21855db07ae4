-- ec_recurrent: one recurrent layer (LSTM, GRU or RNN; ops.recurrent.RecurrentOp) over
-- sequences of STEPS time steps, one element per beat in and out.
--   in:  x_t, INPUTS elements a step (format X), steps in order, tlast on the last beat of
--        a sequence (counted, not read);
--   out: h_t, HIDDEN elements a step (format X); with LAST_ONLY only the last step's.
-- Structure (one matrix-vector unit for all gates, one cell):
--   merge: per step, the INPUTS beats of x_t, then the HIDDEN elements of h_{t-1} from the
--          feedback buffer (zeros in the first step of a sequence), as one vector z
--   ec_linear: pre = requantize(W z + b -> G), its rows grouped by hidden unit (the G gate
--          rows of unit 0, then of unit 1, ...), P_OUT rows a beat
--   serializer: a ring buffer of three steps' gate beats (ec_linear waits only while it
--          is full, which a step whose gates need h of the step before never finds),
--          read out an element at a time (the padding of a step's last beat dropped)
--   ec_rnn_cell: the gates of one unit -> h_j (and the state kept there)
--   feedback: every h_j is written to the buffer the merge reads for the next step, and
--          leaves at m_axis (or, with LAST_ONLY, only in the last step of a sequence).
-- The merge sends h_{t-1}[j] once the cell has produced it, from one of two banks (by the
-- parity of the step): ec_linear may send the first gates of step t before the whole
-- vector of step t is in (where weights are zero), so h_t[j] may come before the merge
-- has sent all of h_{t-1}; h_{t+1} cannot (step t+1's last gates need all of h_t).
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use work.ec_pkg.all;

entity ec_recurrent is
  generic (
    CELL          : natural;
    INPUTS        : positive;
    HIDDEN        : positive;
    STEPS         : positive;
    LAST_ONLY     : boolean := false;
    X_WIDTH       : positive;
    G_WIDTH       : positive;
    -- the matrix-vector unit (ec_linear's generics)
    L_W_WIDTH     : positive;
    L_B_WIDTH     : positive;
    L_ACC_WIDTH   : positive;
    L_P_OUT       : positive := 1;
    L_HAS_BIAS    : boolean := true;
    L_BIAS_SHIFT  : natural := 0;
    L_OUT_SHIFT   : integer := 0;
    L_WEIGHTS     : std_logic_vector;
    L_BIASES      : std_logic_vector;
    -- the cell (ec_rnn_cell's generics)
    A_WIDTH       : positive := 2;
    C_WIDTH       : positive := 2;
    A_FRAC        : natural := 0;
    SH_FC         : natural := 0;
    SH_IG         : natural := 0;
    SH_C          : integer := 0;
    SH_ZN         : natural := 0;
    SH_ZH         : natural := 0;
    SH_H          : integer := 0;
    ROUNDING      : natural := 2;
    OVERFLOW      : natural := 0;
    PW_B          : positive;
    PW_M          : positive;
    PW_A          : positive;
    PW_SHIFT      : natural;
    F0_SEGMENTS   : positive := 1;
    F0_BREAKS     : std_logic_vector := x"00";
    F0_BASES      : std_logic_vector := x"00";
    F0_MULS       : std_logic_vector := x"00";
    F0_ADDS       : std_logic_vector := x"00";
    F1_SEGMENTS   : positive;
    F1_BREAKS     : std_logic_vector;
    F1_BASES      : std_logic_vector;
    F1_MULS       : std_logic_vector;
    F1_ADDS       : std_logic_vector;
    F2_SEGMENTS   : positive := 1;
    F2_BREAKS     : std_logic_vector := x"00";
    F2_BASES      : std_logic_vector := x"00";
    F2_MULS       : std_logic_vector := x"00";
    F2_ADDS       : std_logic_vector := x"00"
  );
  port (
    clk           : in  std_logic;
    rst           : in  std_logic;
    s_axis_tdata  : in  std_logic_vector(X_WIDTH - 1 downto 0);
    s_axis_tvalid : in  std_logic;
    s_axis_tready : out std_logic := '0';
    s_axis_tlast  : in  std_logic;
    m_axis_tdata  : out std_logic_vector(X_WIDTH - 1 downto 0) := (others => '0');
    m_axis_tvalid : out std_logic := '0';
    m_axis_tready : in  std_logic;
    m_axis_tlast  : out std_logic := '0'
  );
end entity ec_recurrent;

architecture rtl of ec_recurrent is
  function gates return positive is
  begin
    if CELL = 2 then
      return 1;
    end if;
    return 4;
  end function;
  constant ROWS_PER_STEP : positive := gates * HIDDEN;
  constant BEATS_OUT : positive := ceil_div(ROWS_PER_STEP, L_P_OUT);

  -- merge -> ec_linear
  signal z_data  : std_logic_vector(X_WIDTH - 1 downto 0) := (others => '0');
  signal z_valid : std_logic := '0';
  signal z_ready : std_logic := '0';
  signal z_last  : std_logic := '0';
  signal m_elem  : natural range 0 to INPUTS + HIDDEN - 1 := 0;
  signal m_step  : natural range 0 to STEPS - 1 := 0;

  -- ec_linear -> serializer
  signal p_data  : std_logic_vector(L_P_OUT * G_WIDTH - 1 downto 0);
  signal p_valid : std_logic;
  signal p_ready : std_logic := '0';
  signal p_last  : std_logic;
  signal s_lane  : natural range 0 to L_P_OUT - 1 := 0;
  signal s_row   : natural range 0 to ROWS_PER_STEP - 1 := 0;
  constant RING  : positive := 3 * BEATS_OUT;
  signal w_ptr   : natural range 0 to RING - 1 := 0;
  signal r_ptr   : natural range 0 to RING - 1 := 0;
  signal r_count : natural range 0 to RING := 0;
  -- r_count = RING and r_count = 0, as flip-flops set beside the count from its value
  -- before the step (not compared after it): the ring's ready and valid
  signal r_full  : std_logic := '0';
  signal r_empty : std_logic := '1';
  type gbuf_t is array (0 to RING - 1) of std_logic_vector(L_P_OUT * G_WIDTH - 1 downto 0);
  signal gbuf : gbuf_t := (others => (others => '0'));
  signal g_word : std_logic_vector(L_P_OUT * G_WIDTH - 1 downto 0);

  -- serializer -> cell
  signal g_data  : std_logic_vector(G_WIDTH - 1 downto 0) := (others => '0');
  signal g_valid : std_logic := '0';
  signal g_ready : std_logic;

  -- cell -> feedback and output
  signal h_data  : std_logic_vector(X_WIDTH - 1 downto 0);
  signal h_valid : std_logic;
  signal h_ready : std_logic;
  signal h_last  : std_logic;
  signal h_last_step : std_logic;
  signal h_emit  : boolean;

  -- two banks by the parity of the step: the cell may write h_t[j] before the merge has
  -- sent every h_{t-1}[k] (ec_linear sends a gate as soon as the inputs it needs are in;
  -- where weights are zero that is before the whole vector is)
  type hbuf_t is array (0 to 2 * HIDDEN - 1) of std_logic_vector(X_WIDTH - 1 downto 0);
  signal hbuf  : hbuf_t := (others => (others => '0'));
  signal fresh : std_logic_vector(2 * HIDDEN - 1 downto 0) := (others => '0');  -- h[j] there
  signal c_unit : natural range 0 to HIDDEN - 1 := 0;
  signal c_step : natural range 0 to STEPS - 1 := 0;
  signal w_slot : natural range 0 to 2 * HIDDEN - 1;  -- where the cell's h goes
  -- where the merge reads h_{t-1} (the bank of step m_step - 1, at the h element the merge
  -- is at; its first one while x is sent), and whether it sends h: registers that follow
  -- m_elem and m_step, so that no subtraction or addition comes before the buffer's read
  function bank_of_last(step : natural) return natural is
  begin
    return HIDDEN * ((step + 1) mod 2);
  end function;
  signal r_slot : natural range 0 to 2 * HIDDEN - 1 := bank_of_last(0);
  -- Registers beside r_slot, so that the merge's valid is a flip-flop, not a read of the
  -- flags: r_next, the slot after r_slot (where the merge goes after an h element but the
  -- last); r_bank, the first slot of the next step's bank (after the last); r_fresh,
  -- fresh(r_slot).
  function slot_after(slot : natural) return natural is  -- no mod: a divider on a signal
  begin
    if slot = 2 * HIDDEN - 1 then
      return 0;
    end if;
    return slot + 1;
  end function;
  -- where the merge goes after the last h element of step s: the bank of h_s
  function bank_after(step : natural) return natural is
  begin
    if step = STEPS - 1 then
      return bank_of_last(0);
    end if;
    return bank_of_last(step + 1);
  end function;
  signal r_next : natural range 0 to 2 * HIDDEN - 1 := slot_after(bank_of_last(0));
  signal r_bank : natural range 0 to 2 * HIDDEN - 1 := bank_after(0);
  signal r_fresh : std_logic := '0';
  signal taking_h : boolean := false;
begin
  ---------------------------------------------------------------------------- merge
  -- x beats pass straight through; h beats come from the buffer once fresh
  w_slot <= c_unit + HIDDEN * (c_step mod 2);
  s_axis_tready <= '1' when rst = '0' and not taking_h and z_ready = '1' else '0';
  z_valid <= '0' when rst /= '0'
             else s_axis_tvalid when not taking_h
             else '1' when m_step = 0
             else r_fresh;
  z_data <= s_axis_tdata when not taking_h
            else (others => '0') when m_step = 0
            else hbuf(r_slot);
  z_last <= '1' when m_elem = INPUTS + HIDDEN - 1 and m_step = STEPS - 1 else '0';

  process (clk)
  begin
    if rising_edge(clk) then
      if rst /= '0' then
        m_elem <= 0;
        m_step <= 0;
        r_slot <= bank_of_last(0);
        r_next <= slot_after(bank_of_last(0));
        r_bank <= bank_after(0);
        taking_h <= false;
      elsif z_valid = '1' and z_ready = '1' then
        if m_elem = INPUTS + HIDDEN - 1 then
          m_elem <= 0;
          taking_h <= false;
          r_slot <= r_bank;
          r_next <= slot_after(r_bank);
          if m_step = STEPS - 1 then
            m_step <= 0;
            r_bank <= bank_after(0);
          else
            m_step <= m_step + 1;
            r_bank <= bank_after(m_step + 1);
          end if;
        else
          m_elem <= m_elem + 1;
          taking_h <= m_elem + 1 >= INPUTS;
          if m_elem >= INPUTS then
            r_slot <= r_next;
            r_next <= slot_after(r_next);
          end if;
        end if;
      end if;
    end if;
  end process;

  -- r_fresh follows fresh(r_slot) through both processes' updates: the flag at the slot
  -- the merge goes to, or set by the cell's h written there in this cycle (a taken flag
  -- is cleared only at the slot the merge leaves)
  process (clk)
    variable set_w : boolean;
  begin
    if rising_edge(clk) then
      set_w := h_valid = '1' and h_ready = '1' and h_last_step = '0';
      if rst /= '0' then
        r_fresh <= '0';
      elsif z_valid = '1' and z_ready = '1' and m_elem = INPUTS + HIDDEN - 1 then
        r_fresh <= fresh(r_bank) or flag(set_w and w_slot = r_bank);
      elsif z_valid = '1' and z_ready = '1' and m_elem >= INPUTS then
        r_fresh <= fresh(r_next) or flag(set_w and w_slot = r_next);
      else  -- the same slot (where the merge waits for h, r_fresh is 0)
        r_fresh <= r_fresh or flag(set_w and w_slot = r_slot);
      end if;
    end if;
  end process;

  ---------------------------------------------------------------------------- gates
  linear : entity work.ec_linear
    generic map (
      IN_FEATURES  => INPUTS + HIDDEN,
      OUT_FEATURES => ROWS_PER_STEP,
      X_WIDTH      => X_WIDTH,
      W_WIDTH      => L_W_WIDTH,
      B_WIDTH      => L_B_WIDTH,
      Y_WIDTH      => G_WIDTH,
      ACC_WIDTH    => L_ACC_WIDTH,
      P_IN         => 1,
      P_OUT        => L_P_OUT,
      HAS_BIAS     => L_HAS_BIAS,
      BIAS_SHIFT   => L_BIAS_SHIFT,
      OUT_SHIFT    => L_OUT_SHIFT,
      ROUNDING     => ROUNDING,
      OVERFLOW     => OVERFLOW,
      WEIGHTS      => L_WEIGHTS,
      BIASES       => L_BIASES,
      ROWS         => STEPS
    )
    port map (
      clk => clk, rst => rst,
      s_axis_tdata => z_data, s_axis_tvalid => z_valid, s_axis_tready => z_ready,
      s_axis_tlast => z_last,
      m_axis_tdata => p_data, m_axis_tvalid => p_valid, m_axis_tready => p_ready,
      m_axis_tlast => p_last
    );

  ---------------------------------------------------------------------------- serializer
  -- The gate beats go to a ring buffer as they leave ec_linear; the cell reads them an
  -- element at a time. Where a step's gates need h of the step before, three steps of
  -- beats are the most there can be: a step's last beat needs all h of the step before,
  -- which the cell makes only after taking all of that step's gates; at the start of a
  -- sequence (h = 0) the first step's beats and the early beats of the second can come
  -- while the cell finishes the last step of the sequence before. Where they do not (one
  -- step a sequence, or the weights of h zero, whose steps ec_linear skips), ec_linear may
  -- run ahead of the cell: it waits while the ring is full (p_ready, from a flip-flop
  -- only: it never waits where the ring has room).
  p_ready <= '1' when rst = '0' and r_full = '0' else '0';
  g_valid <= '1' when rst = '0' and r_empty = '0' else '0';
  g_word <= gbuf(r_ptr);
  g_data <= g_word(s_lane * G_WIDTH + G_WIDTH - 1 downto s_lane * G_WIDTH);

  -- the ring's memory on its own, without reset: written at a variable index in the
  -- process below (with its reset), GHDL 2.0's synthesis lost its registers (the Verilog
  -- held the ring in a combinational loop: unknown gates in Icarus Verilog)
  process (clk)
  begin
    if rising_edge(clk) then
      if p_valid = '1' and p_ready = '1' then
        gbuf(w_ptr) <= p_data;
      end if;
    end if;
  end process;

  process (clk)
    variable beat_done : boolean;
    variable written : boolean;
  begin
    if rising_edge(clk) then
      if rst /= '0' then
        s_lane <= 0;
        s_row <= 0;
        w_ptr <= 0;
        r_ptr <= 0;
        r_count <= 0;
        r_full <= '0';
        r_empty <= '1';
      else
        written := p_valid = '1' and p_ready = '1';
        if written then
          if w_ptr = RING - 1 then
            w_ptr <= 0;
          else
            w_ptr <= w_ptr + 1;
          end if;
        end if;
        beat_done := false;
        if g_valid = '1' and g_ready = '1' then
          if s_row = ROWS_PER_STEP - 1 then
            s_row <= 0;
            s_lane <= 0;
            beat_done := true;
          else
            s_row <= s_row + 1;
            if s_lane = L_P_OUT - 1 then
              s_lane <= 0;
              beat_done := true;
            else
              s_lane <= s_lane + 1;
            end if;
          end if;
        end if;
        if beat_done then
          if r_ptr = RING - 1 then
            r_ptr <= 0;
          else
            r_ptr <= r_ptr + 1;
          end if;
        end if;
        -- count + 1 and count - 1 both from the register, selected by the handshakes (no
        -- adder after the ready), the flags from the count before the step
        if written and not beat_done then
          r_count <= r_count + 1;
          r_full <= flag(r_count = RING - 1);
          r_empty <= '0';
        elsif beat_done and not written then
          r_count <= r_count - 1;
          r_full <= '0';
          r_empty <= flag(r_count = 1);
        end if;
      end if;
    end if;
  end process;

  ---------------------------------------------------------------------------- cell
  cell_unit : entity work.ec_rnn_cell
    generic map (
      CELL => CELL, HIDDEN => HIDDEN, STEPS => STEPS, G_WIDTH => G_WIDTH,
      A_WIDTH => A_WIDTH, C_WIDTH => C_WIDTH, X_WIDTH => X_WIDTH, A_FRAC => A_FRAC,
      SH_FC => SH_FC, SH_IG => SH_IG, SH_C => SH_C, SH_ZN => SH_ZN, SH_ZH => SH_ZH,
      SH_H => SH_H, ROUNDING => ROUNDING, OVERFLOW => OVERFLOW,
      PW_B => PW_B, PW_M => PW_M, PW_A => PW_A, PW_SHIFT => PW_SHIFT,
      F0_SEGMENTS => F0_SEGMENTS, F0_BREAKS => F0_BREAKS, F0_BASES => F0_BASES,
      F0_MULS => F0_MULS, F0_ADDS => F0_ADDS,
      F1_SEGMENTS => F1_SEGMENTS, F1_BREAKS => F1_BREAKS, F1_BASES => F1_BASES,
      F1_MULS => F1_MULS, F1_ADDS => F1_ADDS,
      F2_SEGMENTS => F2_SEGMENTS, F2_BREAKS => F2_BREAKS, F2_BASES => F2_BASES,
      F2_MULS => F2_MULS, F2_ADDS => F2_ADDS
    )
    port map (
      clk => clk, rst => rst,
      s_axis_tdata => g_data, s_axis_tvalid => g_valid, s_axis_tready => g_ready,
      s_axis_tlast => '0',
      m_axis_tdata => h_data, m_axis_tvalid => h_valid, m_axis_tready => h_ready,
      m_axis_tlast => h_last, last_step => h_last_step
    );

  ---------------------------------------------------------------------------- feedback
  h_emit <= not LAST_ONLY or h_last_step = '1';
  h_ready <= '0' when rst /= '0' else m_axis_tready when h_emit else '1';
  m_axis_tvalid <= h_valid when h_emit and rst = '0' else '0';
  m_axis_tdata <= h_data;
  m_axis_tlast <= h_last;

  process (clk)
  begin
    if rising_edge(clk) then
      if rst /= '0' then
        fresh <= (others => '0');
        c_unit <= 0;
        c_step <= 0;
      else
        -- the merge takes h_{t-1}[j]: no longer fresh (z_valid is fresh(r_slot) here, so
        -- the clear needs no z_valid: the flag it would clear without it is already 0;
        -- that keeps the read of fresh(r_slot) off the path to the flags)
        if taking_h and m_step /= 0 and z_ready = '1' then
          fresh(r_slot) <= '0';
        end if;
        if h_valid = '1' and h_ready = '1' then
          hbuf(w_slot) <= h_data;
          -- the last step's h is not read back (the next sequence starts from zero)
          if h_last_step = '0' then
            fresh(w_slot) <= '1';
          end if;
          if c_unit = HIDDEN - 1 then
            c_unit <= 0;
            if c_step = STEPS - 1 then
              c_step <= 0;
            else
              c_step <= c_step + 1;
            end if;
          else
            c_unit <= c_unit + 1;
          end if;
        end if;
      end if;
    end if;
  end process;
end architecture rtl;

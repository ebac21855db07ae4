-- ec_linear: fully-connected layer
--   y = clamp(requantize(W x + b * 2**BIAS_SHIFT, OUT_SHIFT), OUT_LO, OUT_HI).
-- The clamp (after rounding and overflow) fuses a following ReLU/HardTanh into the output
-- register; OUT_LO/OUT_HI are signed constants of any width (defaults: no clamp).
-- P_IN inputs per beat (= multipliers per output), P_OUT outputs per beat (computed in
-- parallel). Input samples go to a double-buffered memory (2 banks of NI words); weights
-- sit in a ROM of NO*NI words. Pipeline (global clock enable ce, frozen while the output
-- register is full and not accepted), every register-to-register path short:
--   issue (ob, ib) -> x/w memory read -> two operand registers -> product register
--   -> TREE_STAGES adder tree registers (none for P_IN <= 2; the first takes one adder
--      level, as its inputs come from the multipliers, the others two levels each)
--   -> accumulator (the last one or two tree terms plus the accumulator or bias)
--   -> rounded register (shift and round of a completed block)
--   -> overflow register (overflow, and all comparisons with the bounds side by side)
--   -> output register (clamp: select the value or a bound)
-- The operand and product registers sit right before and after the multipliers and have no
-- reset, so that a tool takes them into its multiplier blocks (Vivado's DSP48, Yosys'
-- synth_xilinx, the ECP5 Fmax flow's synth.ecp5_registers), and a memory's output register
-- is never a multiplier's input.
-- One (ob, ib) step per cycle: a sample takes NI*NO cycles; the first pass over the input
-- follows the arriving beats (early start). An output beat leaves 8 + TREE_STAGES cycles
-- after the issue of its block's last step.
-- Blocks of weights that are all zero (P_OUT x P_IN; grouped and depthwise convolutions,
-- pruned layers) are skipped where that saves at least a quarter of the steps: the steps are
-- then the non-zero blocks only, in (ob, ib) order, at least one per output block (NS steps a
-- vector; else NS = NI*NO), walked by small schedule ROMs instead of counters.
-- ROWS (default 1): vectors per sample (the positions of a convolution, one window each);
-- m_axis_tlast marks the last output beat of the ROWS-th vector only. Input tlast is unused
-- (beats are counted).
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use work.ec_pkg.all;

entity ec_linear is
  generic (
    IN_FEATURES  : positive;
    OUT_FEATURES : positive;
    X_WIDTH      : positive;
    W_WIDTH      : positive;
    B_WIDTH      : positive;
    Y_WIDTH      : positive;
    ACC_WIDTH    : positive;
    P_IN         : positive := 1;
    P_OUT        : positive := 1;
    HAS_BIAS     : boolean := true;
    BIAS_SHIFT   : natural := 0;
    OUT_SHIFT    : integer := 0;
    ROUNDING     : natural := 2;
    OVERFLOW     : natural := 0;
    WEIGHTS      : std_logic_vector;
    BIASES       : std_logic_vector;
    OUT_LO       : std_logic_vector := x"8000000000000000";
    OUT_HI       : std_logic_vector := x"7FFFFFFFFFFFFFFF";
    ROWS         : positive := 1
  );
  port (
    clk           : in  std_logic;
    rst           : in  std_logic;
    s_axis_tdata  : in  std_logic_vector(P_IN * X_WIDTH - 1 downto 0);
    s_axis_tvalid : in  std_logic;
    s_axis_tready : out std_logic := '0';
    s_axis_tlast  : in  std_logic;
    m_axis_tdata  : out std_logic_vector(P_OUT * Y_WIDTH - 1 downto 0) := (others => '0');
    m_axis_tvalid : out std_logic := '0';
    m_axis_tready : in  std_logic;
    m_axis_tlast  : out std_logic := '0'
  );
end entity ec_linear;

architecture rtl of ec_linear is
  constant NI : positive := ceil_div(IN_FEATURES, P_IN);
  constant NO : positive := ceil_div(OUT_FEATURES, P_OUT);
  constant PW : positive := X_WIDTH + W_WIDTH;
  -- number of real outputs in the last output beat
  constant LAST_REAL : positive := OUT_FEATURES - (NO - 1) * P_OUT;

  subtype xword_t is std_logic_vector(P_IN * X_WIDTH - 1 downto 0);
  type xmem_t is array (0 to 2 * NI - 1) of xword_t;
  subtype wword_t is std_logic_vector(P_OUT * P_IN * W_WIDTH - 1 downto 0);

  -- which (ob, ib) blocks hold a non-zero weight (the first of an all-zero row counts)
  type used_t is array (0 to NO * NI - 1) of boolean;
  function block_used return used_t is
    variable r : used_t := (others => false);
    variable n : natural := 0;
    variable wn : std_logic_vector(WEIGHTS'length - 1 downto 0);
    variable o, i, src : natural;
    variable row : boolean;
  begin
    wn := WEIGHTS;
    for ob in 0 to NO - 1 loop
      row := false;
      for ib in 0 to NI - 1 loop
        for lo in 0 to P_OUT - 1 loop
          for li in 0 to P_IN - 1 loop
            o := ob * P_OUT + lo;
            i := ib * P_IN + li;
            if o < OUT_FEATURES and i < IN_FEATURES then
              src := (o * IN_FEATURES + i) * W_WIDTH;
              for b in 0 to W_WIDTH - 1 loop
                if wn(src + b) = '1' then
                  r(ob * NI + ib) := true;
                end if;
              end loop;
            end if;
          end loop;
        end loop;
        if r(ob * NI + ib) then
          row := true;
        end if;
      end loop;
      if not row then
        r(ob * NI) := true;
      end if;
    end loop;
    for k in r'range loop
      if r(k) then
        n := n + 1;
      end if;
    end loop;
    if 4 * n > 3 * NO * NI then  -- too few zero blocks to be worth the schedule ROMs
      r := (others => true);
    end if;
    return r;
  end function;

  constant USED : used_t := block_used;

  function count_steps return positive is
    variable n : natural := 0;
  begin
    for k in USED'range loop
      if USED(k) then
        n := n + 1;
      end if;
    end loop;
    return n;
  end function;

  constant NS : positive := count_steps;
  constant SPARSE : boolean := NS < NO * NI;
  type steps_t is array (0 to NS - 1) of natural;

  -- the block of every step: ob * NI + ib
  function step_blocks return steps_t is
    variable r : steps_t := (others => 0);
    variable s : natural := 0;
  begin
    for k in USED'range loop
      if USED(k) then
        r(s) := k;
        s := s + 1;
      end if;
    end loop;
    return r;
  end function;

  constant STEP_BLOCK : steps_t := step_blocks;
  type wrom_t is array (0 to NS - 1) of wword_t;
  subtype bword_t is std_logic_vector(P_OUT * ACC_WIDTH - 1 downto 0);
  type brom_t is array (0 to NO - 1) of bword_t;
  type prod_t is array (0 to P_OUT * P_IN - 1) of signed(PW - 1 downto 0);
  type acc_t is array (natural range <>) of signed(ACC_WIDTH - 1 downto 0);

  -- word s (the step of block ob*NI+ib) holds w[ob*P_OUT+lo][ib*P_IN+li] at bits
  -- (lo*P_IN+li)*W_WIDTH
  function build_wrom return wrom_t is
    variable r : wrom_t := (others => (others => '0'));
    variable wn : std_logic_vector(WEIGHTS'length - 1 downto 0);
    variable o, i, src, dst, ob, ib : natural;
  begin
    wn := WEIGHTS;
    for s in 0 to NS - 1 loop
      ob := STEP_BLOCK(s) / NI;
      ib := STEP_BLOCK(s) mod NI;
      for lo in 0 to P_OUT - 1 loop
        for li in 0 to P_IN - 1 loop
          o := ob * P_OUT + lo;
          i := ib * P_IN + li;
          if o < OUT_FEATURES and i < IN_FEATURES then
            src := (o * IN_FEATURES + i) * W_WIDTH;
            dst := (lo * P_IN + li) * W_WIDTH;
            r(s)(dst + W_WIDTH - 1 downto dst) := wn(src + W_WIDTH - 1 downto src);
          end if;
        end loop;
      end loop;
    end loop;
    return r;
  end function;

  -- word ob holds b[ob*P_OUT+lo] * 2**BIAS_SHIFT as ACC_WIDTH bits at lo*ACC_WIDTH
  function build_brom return brom_t is
    variable r : brom_t := (others => (others => '0'));
    variable bn : std_logic_vector(BIASES'length - 1 downto 0);
    variable o : natural;
    variable b : signed(ACC_WIDTH - 1 downto 0);
  begin
    bn := BIASES;
    if HAS_BIAS then
      for ob in 0 to NO - 1 loop
        for lo in 0 to P_OUT - 1 loop
          o := ob * P_OUT + lo;
          if o < OUT_FEATURES then
            b := shift_left(resize(signed(bn(o * B_WIDTH + B_WIDTH - 1 downto o * B_WIDTH)),
                                   ACC_WIDTH), BIAS_SHIFT);
            r(ob)(lo * ACC_WIDTH + ACC_WIDTH - 1 downto lo * ACC_WIDTH) := std_logic_vector(b);
          end if;
        end loop;
      end loop;
    end if;
    return r;
  end function;

  constant WROM : wrom_t := build_wrom;
  constant LO_S : signed(OUT_LO'length - 1 downto 0) := signed(OUT_LO);
  constant HI_S : signed(OUT_HI'length - 1 downto 0) := signed(OUT_HI);
  constant BROM : brom_t := build_brom;

  -- width of the shifted and rounded accumulator
  constant RW : positive := shift_round_width(ACC_WIDTH, OUT_SHIFT);
  type rnd_t is array (natural range <>) of signed(RW - 1 downto 0);

  -- adder tree: TREE_STAGES registered stages, so that at most two terms per output remain
  -- for the accumulator's three-input sum. The first stage adds pairs of products (one
  -- adder level: the multipliers' outputs route slowly to the fabric; with an odd count the
  -- last group is three, so that no product passes to a tree register on its own, which
  -- Yosys 0.23's synth_xilinx packs into the DSP48 wrongly), the later ones four terms into
  -- one (two levels)
  function terms_after(k : natural) return positive is
    variable n : positive := P_IN;
  begin
    for j in 1 to k loop
      if j = 1 then
        n := imax(1, n / 2);
      else
        n := ceil_div(n, 4);
      end if;
    end loop;
    return n;
  end function;
  function count_tree_stages return natural is
    variable k : natural := 0;
  begin
    while terms_after(k) > 2 loop
      k := k + 1;
    end loop;
    return k;
  end function;
  constant TREE_STAGES : natural := count_tree_stages;
  constant ACC_IN : positive := 4 + TREE_STAGES;
  -- any sum of products fits in TW bits
  constant TW : positive := imin(ACC_WIDTH, PW + clog2(P_IN));
  type terms_t is array (0 to P_OUT * P_IN - 1) of signed(TW - 1 downto 0);
  type tree_t is array (natural range <>) of terms_t;
  type ob_array_t is array (natural range <>) of natural range 0 to NO - 1;
  type xlanes_t is array (0 to P_OUT - 1) of xword_t;

  -- requantize_clamp(v, 0, ...) for an already shifted and rounded v, in two register
  -- stages: overflow to Y_WIDTH and compare with the bounds (every comparison reads v
  -- itself, side by side), then select. With l = sat(lo), h = sat(hi) inside the Y_WIDTH
  -- range, saturate-then-clamp equals clamp alone (saturation is monotone), and l > h
  -- always gives h.
  constant L_C : signed(Y_WIDTH - 1 downto 0) := saturate(LO_S, Y_WIDTH);
  constant H_C : signed(Y_WIDTH - 1 downto 0) := saturate(HI_S, Y_WIDTH);
  constant CW : positive := imax(RW, Y_WIDTH);
  type y_t is array (natural range <>) of signed(Y_WIDTH - 1 downto 0);

  function overflowed(v : signed) return signed is
    variable x : signed(CW - 1 downto 0);
  begin
    if OVERFLOW = EC_WRAP then
      x := resize(wrap(v, Y_WIDTH), CW);
    else
      x := resize(v, CW);
    end if;
    return x;
  end function;

  -- the value (low bits of the overflowed one) when lt and gt are false, else the bound
  function clamp_select(y : signed; lt : std_logic; gt : std_logic) return signed is
    variable r : signed(Y_WIDTH - 1 downto 0);
  begin
    if lt = '1' then
      if L_C > H_C then
        r := H_C;
      else
        r := L_C;
      end if;
    elsif gt = '1' then
      r := H_C;
    else
      r := y;
    end if;
    -- every result lies in [l, h] (or is h): where l <= h, the bits above their highest
    -- differing one are the same for all of them (signed order is unsigned order when the
    -- signs agree; they differ otherwise), so these are constants (fewer registers)
    if L_C <= H_C then
      for k in Y_WIDTH - 1 downto 0 loop
        exit when L_C(k) /= H_C(k);
        r(k) := L_C(k);
      end loop;
    end if;
    return r;
  end function;

  -- input buffer, writer side
  constant IDX_W : positive := clog2(NI) + 1;  -- an input block's index, signed
  signal xmem   : xmem_t;
  signal wb     : natural range 0 to 1 := 0;
  signal widx   : natural range 0 to NI - 1 := 0;
  signal filled : std_logic_vector(0 to 1) := "00";
  signal wr_en  : std_logic;
  signal s_ready : std_logic;

  -- issue stage
  signal rb    : natural range 0 to 1 := 0;
  signal ib    : natural range 0 to NI - 1 := STEP_BLOCK(0) mod NI;
  signal ob    : natural range 0 to NO - 1 := 0;
  signal waddr : natural range 0 to NS - 1 := 0;  -- the step
  signal avail : std_logic;
  signal ce    : std_logic;
  signal issue : std_logic;
  signal first_step : std_logic;
  signal last_step  : std_logic;

  -- stage 1: memory outputs
  signal x1     : xword_t := (others => '0');
  signal w1     : wword_t := (others => '0');
  -- stages 2 and 3: multiplier operands (two registers: one can sit by the memory, the
  -- other by the multiplier)
  signal x2     : xword_t := (others => '0');
  signal w2     : wword_t := (others => '0');
  -- a copy for every output lane: each lane's multipliers take theirs in
  signal x3     : xlanes_t := (others => (others => '0'));
  signal w3     : wword_t := (others => '0');
  -- stage 4: products; stages 4 + k: the terms left after tree stage k
  signal p4     : prod_t := (others => (others => '0'));
  signal tree   : tree_t(1 to imax(1, TREE_STAGES)) := (others => (others => (others => '0')));
  -- flags of stages 1 to ACC_IN (the stage the accumulator reads)
  signal vs     : std_logic_vector(1 to ACC_IN) := (others => '0');
  signal fs     : std_logic_vector(1 to ACC_IN) := (others => '0');
  signal ls     : std_logic_vector(1 to ACC_IN) := (others => '0');
  signal obs    : ob_array_t(1 to ACC_IN) := (others => 0);
  signal bias   : bword_t := (others => '0');  -- the bias of output block obs(ACC_IN)
  -- accumulators
  signal acc3   : acc_t(0 to P_OUT - 1) := (others => (others => '0'));
  signal done3  : std_logic := '0';
  signal ob3    : natural range 0 to NO - 1 := 0;
  -- shifted and rounded results of a completed block
  signal r4     : rnd_t(0 to P_OUT - 1) := (others => (others => '0'));
  signal done4  : std_logic := '0';
  signal ob4    : natural range 0 to NO - 1 := 0;
  -- overflowed values and their comparisons with the bounds
  signal y5     : y_t(0 to P_OUT - 1) := (others => (others => '0'));
  signal lt5    : std_logic_vector(0 to P_OUT - 1) := (others => '0');
  signal gt5    : std_logic_vector(0 to P_OUT - 1) := (others => '0');
  signal done5  : std_logic := '0';
  signal ob5    : natural range 0 to NO - 1 := 0;
  -- output register
  signal m_data  : std_logic_vector(P_OUT * Y_WIDTH - 1 downto 0) := (others => '0');
  signal m_valid : std_logic := '0';
  signal m_last  : std_logic := '0';
  signal orow    : natural range 0 to ROWS - 1 := 0;
begin
  assert WEIGHTS'length = OUT_FEATURES * IN_FEATURES * W_WIDTH
    report "ec_linear: WEIGHTS must have OUT_FEATURES*IN_FEATURES*W_WIDTH bits" severity failure;
  assert (not HAS_BIAS) or BIASES'length = OUT_FEATURES * B_WIDTH
    report "ec_linear: BIASES must have OUT_FEATURES*B_WIDTH bits" severity failure;

  s_ready <= not filled(wb);
  s_axis_tready <= s_ready;
  wr_en <= s_axis_tvalid and s_ready;

  ce <= m_axis_tready or not m_valid;
  -- early start: a step may read a word as soon as it is written; the vector's last step
  -- releases the bank, so it waits for the whole vector (with skipped blocks its word may
  -- not be the last one)
  -- (widx > ib as ec_pkg.less: bit logic, no carry chain, whose carry out leaves an ECP5
  -- slice slowly, on the issue path)
  avail <= '1' when filled(rb) = '1'
           or (wb = rb and less(to_signed(ib, IDX_W), to_signed(widx, IDX_W)) = '1'
               and waddr /= NS - 1)
           else '0';
  issue <= ce and avail;

  m_axis_tdata <= m_data;
  m_axis_tvalid <= m_valid;
  m_axis_tlast <= m_last;

  -- input memory: one write port, one synchronous read port
  mem_proc : process (clk)
  begin
    if rising_edge(clk) then
      if wr_en = '1' then
        xmem(wb * NI + widx) <= s_axis_tdata;
      end if;
      if issue = '1' then
        x1 <= xmem(rb * NI + ib);
      end if;
    end if;
  end process;

  -- weight ROM, synchronous read on every enabled edge, not only on issue (the step's valid
  -- flag tells), so that a block RAM's enable stays off the issue logic; bias ROM read the
  -- stage before the accumulator. With a single word (fully unrolled) they are plain
  -- constants, so the multipliers become constant ones.
  rom_gen : if NS > 1 generate
    rom_proc : process (clk)
    begin
      if rising_edge(clk) then
        if ce = '1' then
          w1 <= WROM(waddr);
        end if;
      end if;
    end process;
  else generate
    w1 <= WROM(0);
  end generate;

  -- bias ROM, read the stage before the accumulator
  bias_gen : if NO > 1 generate
    bias_proc : process (clk)
    begin
      if rising_edge(clk) then
        if ce = '1' then
          bias <= BROM(obs(ACC_IN - 1));
        end if;
      end if;
    end process;
  else generate
    bias <= BROM(0);
  end generate;

  -- bank bookkeeping and issue counters
  ctrl_proc : process (clk)
  begin
    if rising_edge(clk) then
      if rst = '1' then
        wb <= 0;
        widx <= 0;
        filled <= "00";
        rb <= 0;
        waddr <= 0;
      else
        if wr_en = '1' then
          if widx = NI - 1 then
            widx <= 0;
            filled(wb) <= '1';
            wb <= 1 - wb;
          else
            widx <= widx + 1;
          end if;
        end if;
        if issue = '1' then
          if waddr = NS - 1 then
            waddr <= 0;
            filled(rb) <= '0';
            rb <= 1 - rb;
          else
            waddr <= waddr + 1;
          end if;
        end if;
      end if;
    end if;
  end process;

  -- the block (ob, ib) of the current step
  dense_gen : if not SPARSE generate
    block_proc : process (clk)
    begin
      if rising_edge(clk) then
        if rst = '1' then
          ib <= 0;
          ob <= 0;
        elsif issue = '1' then
          if ib = NI - 1 then
            ib <= 0;
            if ob = NO - 1 then
              ob <= 0;
            else
              ob <= ob + 1;
            end if;
          else
            ib <= ib + 1;
          end if;
        end if;
      end if;
    end process;
    first_step <= '1' when ib = 0 else '0';
    last_step <= '1' when ib = NI - 1 else '0';
  else generate
    -- schedule ROMs: per step its block (ib, ob) and whether it is the first or the last
    -- step of its output block. They are read a step ahead (at (waddr + 2) mod NS, kept in
    -- a register that advances with waddr; on reset the words of STEP1, constants) into the
    -- *_nx registers, which pass to the registers of the current step on issue: a memory's
    -- slow output reaches only a register, and no adder, comparison or reset multiplexer
    -- sits before the ROMs or after them.
    -- GHDL 2.0's synthesis turns a small ROM whose lowest 32 bits (its last words) are all
    -- zero into a constant of zeros (e.g. FIRST_OF of 64 steps whose last output block has
    -- 33). A ROM whose last word is zero gets a word NS that is never read, with its lowest
    -- bit set (IB_OF and FIRST_OF; OB_OF ends in NO - 1 and LAST_OF in '1').
    -- GHDL also reads an array (0 to N - 1) at N - 1 - index, a subtraction (a carry chain
    -- before the ROM) unless N is a power of two (then it is an inversion, which folds
    -- into the ROM's logic). So the ROMs have SR words, a power of two; the words from NS
    -- on are never read and are not zero.
    function ib_sentinel return natural is
    begin
      return boolean'pos(STEP_BLOCK(NS - 1) mod NI = 0);
    end function;
    function first_sentinel return natural is
    begin
      return boolean'pos(NS > 1 and STEP_BLOCK(NS - 2) / NI = STEP_BLOCK(NS - 1) / NI);
    end function;
    constant SR : positive := 2 ** clog2(NS + imax(ib_sentinel, first_sentinel));
    type ib_rom_t is array (0 to SR - 1) of natural range 0 to NI - 1;
    type ob_rom_t is array (0 to SR - 1) of natural range 0 to NO - 1;
    type flag_rom_t is array (natural range <>) of std_logic;
    subtype first_rom_t is flag_rom_t(0 to SR - 1);
    subtype last_rom_t is flag_rom_t(0 to SR - 1);

    function ib_rom return ib_rom_t is
      variable r : ib_rom_t;
    begin
      for s in 0 to NS - 1 loop
        r(s) := STEP_BLOCK(s) mod NI;
      end loop;
      for s in NS to r'high loop
        r(s) := imin(1, NI - 1);
      end loop;
      return r;
    end function;

    function ob_rom return ob_rom_t is
      variable r : ob_rom_t;
    begin
      for s in 0 to NS - 1 loop
        r(s) := STEP_BLOCK(s) / NI;
      end loop;
      for s in NS to r'high loop
        r(s) := NO - 1;
      end loop;
      return r;
    end function;

    constant IB_OF : ib_rom_t := ib_rom;
    constant OB_OF : ob_rom_t := ob_rom;

    -- output blocks follow each other in order, each with at least one step
    function first_rom return first_rom_t is
      variable r : first_rom_t;
    begin
      for s in 0 to NS - 1 loop
        r(s) := '0';
        if s = 0 then
          r(s) := '1';
        elsif OB_OF(s - 1) /= OB_OF(s) then
          r(s) := '1';
        end if;
      end loop;
      for s in NS to r'high loop
        r(s) := '1';
      end loop;
      return r;
    end function;

    function last_rom return last_rom_t is
      variable r : last_rom_t;
    begin
      for s in 0 to NS - 1 loop
        r(s) := '0';
        if s = NS - 1 then
          r(s) := '1';
        elsif OB_OF(s + 1) /= OB_OF(s) then
          r(s) := '1';
        end if;
      end loop;
      for s in NS to r'high loop
        r(s) := '1';
      end loop;
      return r;
    end function;

    constant FIRST_OF : first_rom_t := first_rom;
    constant LAST_OF  : last_rom_t := last_rom;
    constant STEP1 : natural := 1 mod NS;
    constant STEP2 : natural := 2 mod NS;
    signal step_p2  : natural range 0 to NS - 1 := STEP2;
    -- the address the block ROMs read next: step 1 during reset, then the step after next
    signal rd_step  : natural range 0 to NS - 1;
    -- plain read registers of the ib and ob ROMs (no reset, 0 at start: a block RAM's own
    -- output register can be them), loaded with step 1 during reset
    signal ib_nx    : natural range 0 to NI - 1 := 0;
    signal ob_nx    : natural range 0 to NO - 1 := 0;
    signal first_nx : std_logic := FIRST_OF(STEP1);
    signal last_nx  : std_logic := LAST_OF(STEP1);
    signal first_q  : std_logic := FIRST_OF(0);
    signal last_q   : std_logic := LAST_OF(0);
  begin
    rd_step <= STEP1 when rst = '1' else step_p2;

    schedule_proc : process (clk)
    begin
      if rising_edge(clk) then
        if rst = '1' then
          step_p2 <= STEP2;
        elsif issue = '1' then
          if step_p2 = NS - 1 then
            step_p2 <= 0;
          else
            step_p2 <= step_p2 + 1;
          end if;
        end if;
        if rst = '1' or issue = '1' then
          ib_nx <= IB_OF(rd_step);
          ob_nx <= OB_OF(rd_step);
        end if;
        if rst = '1' then
          first_nx <= FIRST_OF(STEP1);
          last_nx <= LAST_OF(STEP1);
        elsif issue = '1' then
          first_nx <= FIRST_OF(step_p2);
          last_nx <= LAST_OF(step_p2);
        end if;
        if rst = '1' then
          ib <= IB_OF(0);
          ob <= OB_OF(0);
          first_q <= FIRST_OF(0);
          last_q <= LAST_OF(0);
        elsif issue = '1' then
          ib <= ib_nx;
          ob <= ob_nx;
          first_q <= first_nx;
          last_q <= last_nx;
        end if;
      end if;
    end process;
    first_step <= first_q;
    last_step <= last_q;
  end generate;

  pipe_proc : process (clk)
    variable s : signed(ACC_WIDTH - 1 downto 0);
    variable t : terms_t;
    variable n : positive;
    variable x : signed(CW - 1 downto 0);
  begin
    if rising_edge(clk) then
      if ce = '1' then
        -- flags (stage 1 data registered in mem_proc / rom_proc)
        vs <= avail & vs(1 to ACC_IN - 1);
        fs <= first_step & fs(1 to ACC_IN - 1);
        ls <= last_step & ls(1 to ACC_IN - 1);
        obs <= ob & obs(1 to ACC_IN - 1);
        -- stages 2 and 3: operands
        x2 <= x1;
        w2 <= w1;
        x3 <= (others => x2);
        w3 <= w2;
        -- stage 4: products
        for lo in 0 to P_OUT - 1 loop
          for li in 0 to P_IN - 1 loop
            p4(lo * P_IN + li) <=
              signed(x3(lo)(li * X_WIDTH + X_WIDTH - 1 downto li * X_WIDTH)) *
              signed(w3((lo * P_IN + li) * W_WIDTH + W_WIDTH - 1 downto (lo * P_IN + li) * W_WIDTH));
          end loop;
        end loop;
        -- adder tree stages: terms j of output lo at lo * P_IN + j
        for k in 1 to TREE_STAGES loop
          if k = 1 then
            for j in t'range loop
              t(j) := resize(p4(j), TW);
            end loop;
          else
            t := tree(k - 1);
          end if;
          n := terms_after(k - 1);
          for lo in 0 to P_OUT - 1 loop
            for j in 0 to terms_after(k) - 1 loop
              if k = 1 then
                -- a + b of the products 2j, 2j + 1, and the last odd one too (conditions
                -- of generics and loop constants; its index P_IN - 1 is always in range)
                t(lo * P_IN + 2 * j) := t(lo * P_IN + 2 * j) + t(lo * P_IN + 2 * j + 1);
                if P_IN mod 2 = 1 and j = P_IN / 2 - 1 then
                  t(lo * P_IN + 2 * j) := t(lo * P_IN + 2 * j) + t(lo * P_IN + P_IN - 1);
                end if;
                tree(k)(lo * P_IN + j) <= t(lo * P_IN + 2 * j);
              else
                -- (a + b) + (c + d) of the terms 4j .. 4j + 3 that exist
                for lvl in 0 to 1 loop
                  for q in 0 to 3 loop
                    if q mod (2 ** (lvl + 1)) = 0 and 4 * j + q + 2 ** lvl < n then
                      t(lo * P_IN + 4 * j + q) :=
                        t(lo * P_IN + 4 * j + q) + t(lo * P_IN + 4 * j + q + 2 ** lvl);
                    end if;
                  end loop;
                end loop;
                tree(k)(lo * P_IN + j) <= t(lo * P_IN + 4 * j);
              end if;
            end loop;
          end loop;
        end loop;
        -- accumulate the one or two terms left
        if vs(ACC_IN) = '1' then
          for lo in 0 to P_OUT - 1 loop
            if fs(ACC_IN) = '1' then
              s := signed(bias(lo * ACC_WIDTH + ACC_WIDTH - 1 downto lo * ACC_WIDTH));
            else
              s := acc3(lo);
            end if;
            n := terms_after(TREE_STAGES);
            for j in 0 to n - 1 loop
              if TREE_STAGES = 0 then
                s := s + resize(p4(lo * P_IN + j), ACC_WIDTH);
              else
                s := s + resize(tree(imax(1, TREE_STAGES))(lo * P_IN + j), ACC_WIDTH);
              end if;
            end loop;
            acc3(lo) <= s;
          end loop;
        end if;
        done3 <= vs(ACC_IN) and ls(ACC_IN);
        ob3 <= obs(ACC_IN);
        -- shift and round (kept only for a completed block: done3, then done4 and done5)
        for lo in 0 to P_OUT - 1 loop
          r4(lo) <= shift_round(acc3(lo), OUT_SHIFT, ROUNDING);
        end loop;
        done4 <= done3;
        ob4 <= ob3;
        -- overflow and compare
        for lo in 0 to P_OUT - 1 loop
          x := overflowed(r4(lo));
          y5(lo) <= x(Y_WIDTH - 1 downto 0);
          lt5(lo) <= below(x, L_C);
          gt5(lo) <= not below(x, resize(H_C, Y_WIDTH + 1) + 1);  -- x > h: not x < h + 1
        end loop;
        done5 <= done4;
        ob5 <= ob4;
        -- output register: clamp
        if done5 = '1' then
          m_valid <= '1';
          if ob5 = NO - 1 and orow = ROWS - 1 then m_last <= '1'; else m_last <= '0'; end if;
          if ob5 = NO - 1 then
            if orow = ROWS - 1 then orow <= 0; else orow <= orow + 1; end if;
          end if;
          for lo in 0 to P_OUT - 1 loop
            if ob5 = NO - 1 and lo >= LAST_REAL then
              m_data(lo * Y_WIDTH + Y_WIDTH - 1 downto lo * Y_WIDTH) <= (others => '0');
            else
              m_data(lo * Y_WIDTH + Y_WIDTH - 1 downto lo * Y_WIDTH) <=
                std_logic_vector(clamp_select(y5(lo), lt5(lo), gt5(lo)));
            end if;
          end loop;
        else
          m_valid <= '0';
        end if;
      end if;
      if rst = '1' then
        vs <= (others => '0');
        done3 <= '0';
        done4 <= '0';
        done5 <= '0';
        m_valid <= '0';
        m_last <= '0';
        orow <= 0;
        m_data <= (others => '0');
      end if;
    end if;
  end process;
end architecture rtl;

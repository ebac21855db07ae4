-- ec_reduce: the reducer of pooling layers. The input is a sequence of windows; a window is
-- TAPS*CHANNELS elements in order (tap, channel), the channel fastest, LANES per beat: so
-- BLOCKS = CHANNELS/LANES beats per tap (channel blocks) and TAPS*BLOCKS beats per window.
-- Per window it outputs CHANNELS values, LANES per beat in channel order (BLOCKS beats):
--   KIND = 0: y[c] = max over t of x[t, c], sign-extended to Y_WIDTH bits;
--   KIND = 1: y[c] = sum over t of x[t, c], exact where the sum fits Y_WIDTH bits (the
--             caller guarantees it; partial sums are kept modulo 2**Y_WIDTH, so a partial
--             sum outside the Y_WIDTH range does no harm).
-- Architecture: two counters, the channel block (fastest) and the tap, advance with every
-- accepted input beat (reset by rst only, never by tlast). The partial results sit in
-- BLOCKS registers of LANES elements (X_WIDTH bits each for max, Y_WIDTH for sum; never
-- read, so synthesized away, where TAPS = 1) that rotate by one with every accepted beat,
-- so the current block's partial result is always in the first (no multiplexer, no write
-- decoder on the path): the beat of tap 0 loads it, the beats of taps 1 .. TAPS-2 combine
-- into it, and the beat of tap TAPS-1 combines it with its data towards the output
-- register (and loads its data into it, never read again: no combining logic before the
-- partial results where TAPS = 2). For the sum the output register takes the sum itself;
-- for the max a compare stage between takes the partial result, the data and per lane
-- which is the larger (a register), and the output register the one it picks: a
-- comparison and a multiplexer are never in one cycle on the last tap. So a window's
-- outputs stream out during the beats of its last tap; m_axis_tlast is the s_axis_tlast
-- of the input beat that completes the output.
-- Latency: LAT = 2 cycles for the max (the compare stage), 1 for the sum. The output beat
-- of channel block cb is valid LAT cycles after the handshake of the input beat of tap
-- TAPS-1, block cb (first input beat of a window to its first output beat:
-- (TAPS-1)*BLOCKS + LAT cycles unstalled). Unstalled, one input beat per cycle; BLOCKS
-- output beats per TAPS*BLOCKS input beats.
-- Backpressure: only the beats of the last tap write towards the output; they are
-- accepted while the stage they enter (the compare stage for the max, else the output
-- register) is empty or moving on (s_axis_tready = its enable or not at the last tap). The
-- beats of the other taps are accepted even while the output is held (s_axis_tready = 1),
-- so the next window's accumulation goes on under output stalls.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use work.ec_pkg.all;

entity ec_reduce is
  generic (
    X_WIDTH  : positive;
    Y_WIDTH  : positive;
    CHANNELS : positive;
    TAPS     : positive;
    LANES    : positive;
    KIND     : natural
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
end entity ec_reduce;

architecture rtl of ec_reduce is
  constant BLOCKS : positive := CHANNELS / LANES;

  -- width of a partial result: max keeps X_WIDTH bits, sum Y_WIDTH (modulo 2**Y_WIDTH)
  function part_width return positive is
  begin
    if KIND = 0 then
      return X_WIDTH;
    end if;
    return Y_WIDTH;
  end function;
  constant PW : positive := part_width;

  subtype pword_t is std_logic_vector(LANES * PW - 1 downto 0);
  type part_t is array (0 to BLOCKS - 1) of pword_t;

  -- the partial result a combined with the element x
  function combine(a : signed(PW - 1 downto 0); x : signed(X_WIDTH - 1 downto 0))
    return signed is
    variable xe : signed(PW - 1 downto 0);
  begin
    xe := resize(x, PW);
    if KIND = 0 then
      if less(a, xe) = '1' then  -- bit logic: no carry chain on the path
        return xe;
      end if;
      return a;
    end if;
    return a + xe;  -- modulo 2**PW
  end function;

  subtype xword_t is std_logic_vector(LANES * X_WIDTH - 1 downto 0);

  signal part    : part_t := (others => (others => '0'));
  signal blk     : natural range 0 to BLOCKS - 1 := 0;
  signal tap     : natural range 0 to TAPS - 1 := 0;
  signal ce      : std_logic;
  signal ready   : std_logic;
  signal at_last   : std_logic;
  -- compare stage (max): the partial result, the data, per lane whether the data is the
  -- larger; its enable
  signal cur_c   : xword_t := (others => '0');
  signal x_c     : xword_t := (others => '0');
  signal lt_c    : std_logic_vector(LANES - 1 downto 0) := (others => '0');
  signal valid_c : std_logic := '0';
  signal last_c  : std_logic := '0';
  signal ce_c    : std_logic;
  -- output register
  signal data_q  : std_logic_vector(LANES * Y_WIDTH - 1 downto 0) := (others => '0');
  signal valid_q : std_logic := '0';
  signal last_q  : std_logic := '0';
begin
  assert CHANNELS mod LANES = 0
    report "ec_reduce: LANES must divide CHANNELS (" & integer'image(CHANNELS) & "), not "
      & integer'image(LANES) severity failure;
  assert KIND <= 1
    report "ec_reduce: KIND must be 0 (max) or 1 (sum), not " & integer'image(KIND)
    severity failure;
  assert Y_WIDTH >= X_WIDTH
    report "ec_reduce: Y_WIDTH must be at least X_WIDTH (" & integer'image(X_WIDTH)
      & "), not " & integer'image(Y_WIDTH) severity failure;

  ce <= m_axis_tready or not valid_q;
  ce_c <= ce or not valid_c;
  at_last <= '1' when tap = TAPS - 1 else '0';
  ready <= ce_c or not at_last when KIND = 0 else ce or not at_last;
  s_axis_tready <= ready;
  m_axis_tdata <= data_q;
  m_axis_tvalid <= valid_q;
  m_axis_tlast <= last_q;

  process (clk)
    variable cur : pword_t;
    variable x : signed(X_WIDTH - 1 downto 0);
    variable c : signed(PW - 1 downto 0);
    variable r : signed(PW - 1 downto 0);
    variable word : pword_t;
  begin
    if rising_edge(clk) then
      -- rst clears the counters and the valid and last bits (at the end), not the data
      -- registers: their enables need no reset term
      if m_axis_tready = '1' then
        valid_q <= '0';
      end if;
      if KIND = 0 then
        -- the compare stage: its data registers load whenever it is empty or moving on
        -- (their enable is ce_c alone, not the handshake), its valid bit with a beat of
        -- the last tap; the output register likewise with ce
        if ce = '1' then
          valid_q <= valid_c;
          last_q <= last_c;
          for k in 0 to LANES - 1 loop
            if lt_c(k) = '1' then
              r := signed(x_c(k * X_WIDTH + X_WIDTH - 1 downto k * X_WIDTH));
            else
              r := signed(cur_c(k * X_WIDTH + X_WIDTH - 1 downto k * X_WIDTH));
            end if;
            data_q(k * Y_WIDTH + Y_WIDTH - 1 downto k * Y_WIDTH) <=
              std_logic_vector(resize(r, Y_WIDTH));
          end loop;
        end if;
        if ce_c = '1' then
          valid_c <= s_axis_tvalid and at_last;
          last_c <= s_axis_tlast;
          cur := part(0);
          for k in 0 to LANES - 1 loop
            -- whether the data is the larger (TAPS = 1: the data)
            if tap = 0 then
              lt_c(k) <= '1';
            else
              lt_c(k) <= less(signed(cur(k * PW + PW - 1 downto k * PW)),
                resize(signed(s_axis_tdata(k * X_WIDTH + X_WIDTH - 1 downto k * X_WIDTH)), PW));
            end if;
          end loop;
          cur_c <= cur(LANES * X_WIDTH - 1 downto 0);
          x_c <= s_axis_tdata;
        end if;
      end if;
      if s_axis_tvalid = '1' and ready = '1' then
        if blk = BLOCKS - 1 then
          blk <= 0;
          if tap = TAPS - 1 then
            tap <= 0;
          else
            tap <= tap + 1;
          end if;
        else
          blk <= blk + 1;
        end if;
        -- the block's partial result: always at the head of the rotating registers
        cur := part(0);
        for k in 0 to LANES - 1 loop
          x := signed(s_axis_tdata(k * X_WIDTH + X_WIDTH - 1 downto k * X_WIDTH));
          c := signed(cur(k * PW + PW - 1 downto k * PW));
          -- the last tap's partial result is not read again: it takes the data, as tap 0
          if tap = 0 or (KIND = 0 and at_last = '1') then
            r := resize(x, PW);
          else
            r := combine(c, x);
          end if;
          word(k * PW + PW - 1 downto k * PW) := std_logic_vector(r);
        end loop;
        if at_last = '1' then
          if KIND = 1 then
            valid_q <= '1';
            last_q <= s_axis_tlast;
            for k in 0 to LANES - 1 loop
              r := signed(word(k * PW + PW - 1 downto k * PW));
              data_q(k * Y_WIDTH + Y_WIDTH - 1 downto k * Y_WIDTH) <=
                std_logic_vector(resize(r, Y_WIDTH));
            end loop;
          end if;
        end if;
        -- rotate: the next block's partial result comes to the head, this one to the tail
        for b in 0 to BLOCKS - 2 loop
          part(b) <= part(b + 1);
        end loop;
        part(BLOCKS - 1) <= word;
      end if;
      if rst = '1' then
        blk <= 0;
        tap <= 0;
        valid_c <= '0';
        last_c <= '0';
        valid_q <= '0';
        last_q <= '0';
      end if;
    end if;
  end process;
end architecture rtl;

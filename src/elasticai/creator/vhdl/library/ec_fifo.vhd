-- ec_fifo: first-in first-out buffer of AXI4-Stream beats (skip paths), WIDTH bits of
-- tdata per beat, tlast stored beside it. Beats leave in the order they came, unchanged.
-- Let held(c) be the number of beats that transferred at the input minus those that
-- transferred at the output at the rising edges before cycle c (every place holding a
-- beat counts, the output register included). Then in every cycle c after reset:
--   m_axis_tvalid = '1' exactly when held(c) > 0
--   s_axis_tready = '1' exactly when held(c) < DEPTH
-- Capacity: exactly DEPTH beats. s_axis_tready is a register (no combinational path from
-- m_axis_tready): a full FIFO accepts again in the cycle after a beat left.
-- Latency: 1. A beat that transfers at the input in cycle c is offered on m_axis from cycle
-- c+1 on if no older beat is still held then, else right after the older ones (no bubbles).
-- Throughput: with 1 <= held < DEPTH a beat can enter and one leave in the same cycle, so
-- DEPTH >= 2 sustains one beat per cycle through it at any fill level (DEPTH-1 included);
-- DEPTH = 1 passes at most one beat every second cycle.
-- Structure, front to back (oldest beat first):
--   * front: a shift register of FN slots, slot 0 the output register (m_axis_tvalid is
--     its valid bit); DEPTH <= 4: FN = DEPTH and nothing else, DEPTH >= 5: FN = 2;
--   * DEPTH >= 5 only: the read register R of a RAM, and the RAM of DEPTH-3 entries
--     (an array written synchronously and read synchronously into R, with a read enable
--     and no reset, so that synthesis maps it to LUT-RAM or block RAM).
--   R moves into the front when the front has room (counting the beat leaving); R is
--   refilled from the RAM when it is free. An input beat goes straight into the front when
--   the RAM is empty, R is empty or moves into the front in the same cycle, and the front
--   has room for it as well; else into the RAM. (So the RAM holds 2 or more beats only
--   while R and both front slots are full, and a RAM of DEPTH-3 entries suffices; the
--   front is empty only when R and the RAM are: checked on every reachable state.)
--   The RAM's write and read enables and the front's multiplexers depend on m_axis_tready.
-- Backpressure: m_axis_tvalid, m_axis_tdata and m_axis_tlast are registers (slot 0); they
-- stay while m_axis_tready is low. All registers driving outputs have a reset value and an
-- initial value (m_axis_tvalid low from time zero and during reset; s_axis_tready high
-- from time zero and during reset, the FIFO being empty; no beat may arrive in reset).
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use work.ec_pkg.all;

entity ec_fifo is
  generic (
    WIDTH : positive;
    DEPTH : positive
  );
  port (
    clk           : in  std_logic;
    rst           : in  std_logic;
    s_axis_tdata  : in  std_logic_vector(WIDTH - 1 downto 0);
    s_axis_tvalid : in  std_logic;
    s_axis_tready : out std_logic := '0';
    s_axis_tlast  : in  std_logic;
    m_axis_tdata  : out std_logic_vector(WIDTH - 1 downto 0) := (others => '0');
    m_axis_tvalid : out std_logic := '0';
    m_axis_tready : in  std_logic;
    m_axis_tlast  : out std_logic := '0'
  );
end entity ec_fifo;

architecture rtl of ec_fifo is
  constant HAS_RAM   : boolean := DEPTH >= 5;
  function front_slots return positive is
  begin
    if HAS_RAM then
      return 2;
    end if;
    return DEPTH;
  end function;
  constant FN        : positive := front_slots;
  constant RAM_DEPTH : positive := imax(DEPTH - 3, 1);
  constant AW        : positive := index_width(RAM_DEPTH);

  -- a beat: tlast in the top bit, tdata below
  subtype beat_t is std_logic_vector(WIDTH downto 0);
  type slots_t is array (0 to FN - 1) of beat_t;
  type ram_t is array (0 to RAM_DEPTH - 1) of beat_t;

  -- front (slot 0 drives the outputs)
  signal slot  : slots_t := (others => (others => '0'));
  signal fv    : std_logic_vector(0 to FN - 1) := (others => '0');  -- valid, thermometer
  -- beats held, and the registered input ready
  signal count   : natural range 0 to DEPTH := 0;
  signal ready_q : std_logic := '1';

  -- RAM part (DEPTH >= 5)
  signal ram    : ram_t;
  signal r_data : beat_t;
  signal r_valid : std_logic := '0';
  signal wp, rp : unsigned(AW - 1 downto 0) := (others => '0');
  signal rcount : natural range 0 to RAM_DEPTH := 0;

  -- this cycle's decisions
  signal s_hs    : std_logic;  -- input beat transfers
  signal pop     : std_logic;  -- output beat transfers
  signal room    : std_logic;  -- the front can take a beat (counting the pop)
  signal take_r  : std_logic;  -- R moves into the front
  signal in_ram  : std_logic;  -- the input beat goes into the RAM
  signal in_frnt : std_logic;  -- the input beat goes into the front
  signal r_en    : std_logic;  -- R loads from the RAM (read enable)
  signal r_read  : std_logic;  -- ... and that is a beat (the RAM is not empty)
  signal din     : beat_t;     -- the input beat

  function next_ptr(p : unsigned(AW - 1 downto 0)) return unsigned is
  begin
    if to_integer(p) = RAM_DEPTH - 1 then
      return to_unsigned(0, AW);
    end if;
    return p + 1;
  end function;
begin
  s_axis_tready <= ready_q;
  m_axis_tvalid <= fv(0);
  m_axis_tdata <= slot(0)(WIDTH - 1 downto 0);
  m_axis_tlast <= slot(0)(WIDTH);

  din <= s_axis_tlast & s_axis_tdata;
  s_hs <= s_axis_tvalid and ready_q;
  pop <= fv(0) and m_axis_tready;
  room <= (not fv(FN - 1)) or pop;

  ram_gen : if HAS_RAM generate
    signal empty_after : std_logic;  -- the front holds nothing after this cycle's pop
  begin
    empty_after <= not fv(1) and (not fv(0) or pop);
    take_r <= r_valid and room;
    -- the input follows R (moving now) or nothing; the front has room for both
    in_frnt <= s_hs and ((not r_valid and room) or (r_valid and empty_after))
               when rcount = 0 else '0';
    in_ram <= s_hs and not in_frnt;
    r_en <= (not r_valid) or take_r;
    r_read <= r_en when rcount /= 0 else '0';

    -- the RAM: synchronous write, synchronous read into R (no reset: inferable memory)
    mem : process (clk)
    begin
      if rising_edge(clk) then
        if in_ram = '1' then
          ram(to_integer(wp)) <= din;
        end if;
        if r_en = '1' then
          r_data <= ram(to_integer(rp));
        end if;
      end if;
    end process;

    ctrl : process (clk)
    begin
      if rising_edge(clk) then
        if rst = '1' then
          wp <= (others => '0');
          rp <= (others => '0');
          rcount <= 0;
          r_valid <= '0';
        else
          if in_ram = '1' then
            wp <= next_ptr(wp);
          end if;
          if r_read = '1' then
            rp <= next_ptr(rp);
          end if;
          if in_ram = '1' and r_read = '0' then
            rcount <= rcount + 1;
          elsif in_ram = '0' and r_read = '1' then
            rcount <= rcount - 1;
          end if;
          if r_en = '1' then
            r_valid <= r_read;
          end if;
        end if;
      end if;
    end process;
  else generate
    take_r <= '0';
    in_frnt <= s_hs;  -- ready_q: fewer than DEPTH = FN beats held, so the front has room
    in_ram <= '0';
    r_en <= '0';
    r_read <= '0';
  end generate;

  front : process (clk)
    variable nv  : std_logic_vector(0 to FN - 1);
    variable ns  : slots_t;
    variable cnt : natural range 0 to DEPTH;
  begin
    if rising_edge(clk) then
      if rst = '1' then
        fv <= (others => '0');
        slot <= (others => (others => '0'));
        count <= 0;
        ready_q <= '1';
      else
        -- shift out the beat that leaves
        for i in 0 to FN - 1 loop
          if pop = '1' then
            if i < FN - 1 then
              nv(i) := fv(i + 1);
              ns(i) := slot(i + 1);
            else
              nv(i) := '0';
              ns(i) := slot(i);
            end if;
          else
            nv(i) := fv(i);
            ns(i) := slot(i);
          end if;
        end loop;
        -- R, then the input beat, into the first free slots (there is room: see room,
        -- in_frnt and ready_q)
        if take_r = '1' then
          for i in 0 to FN - 1 loop
            if nv(i) = '0' then
              nv(i) := '1';
              ns(i) := r_data;
              exit;
            end if;
          end loop;
        end if;
        if in_frnt = '1' then
          for i in 0 to FN - 1 loop
            if nv(i) = '0' then
              nv(i) := '1';
              ns(i) := din;
              exit;
            end if;
          end loop;
        end if;
        fv <= nv;
        slot <= ns;
        -- beats held
        cnt := count;
        if s_hs = '1' and pop = '0' then
          cnt := cnt + 1;
        elsif s_hs = '0' and pop = '1' then
          cnt := cnt - 1;
        end if;
        count <= cnt;
        if cnt < DEPTH then
          ready_q <= '1';
        else
          ready_q <= '0';
        end if;
      end if;
    end if;
  end process;
end architecture rtl;

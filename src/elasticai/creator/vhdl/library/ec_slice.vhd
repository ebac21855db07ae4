-- ec_slice: from each sample of N elements (one a beat) keeps elements START .. STOP-1 and
-- drops the others, e.g. the last time step of a sequence (START = N - H, STOP = N).
-- It counts the elements of each sample itself (0 .. N-1, one per input transfer); the
-- input's tlast is not read. m_axis_tlast marks element STOP-1, the last one kept.
-- A kept element passes through: m_axis_tdata = s_axis_tdata, m_axis_tvalid =
-- s_axis_tvalid, s_axis_tready = m_axis_tready. A dropped one is taken at once,
-- whatever the output does: s_axis_tready = '1', m_axis_tvalid = '0'.
-- Latency: 0 (no register on the data path): a kept element leaves in the cycle it is
-- taken. Throughput: one element per cycle in; the output never holds up a dropped one.
-- Backpressure: m_axis_tvalid depends on s_axis_tvalid and the counter only, never on
-- m_axis_tready; s_axis_tready depends on m_axis_tready (combinationally).
-- Elaboration asserts 0 <= START < STOP <= N. During reset m_axis_tvalid and
-- s_axis_tready are '0' (also while rst is not yet driven); every output is '0' from
-- time zero.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity ec_slice is
  generic (
    N     : positive;  -- elements (beats) per input sample
    START : natural;   -- first element kept
    STOP  : positive;  -- one past the last element kept
    WIDTH : positive   -- bits per element
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
end entity ec_slice;

architecture rtl of ec_slice is
  function check return boolean is
  begin
    assert START < STOP and STOP <= N
      report "ec_slice: needs 0 <= START < STOP <= N, not START = " & integer'image(START)
             & ", STOP = " & integer'image(STOP) & ", N = " & integer'image(N)
      severity failure;
    return true;
  end function;
  constant CHECKED : boolean := check;

  -- whether element i is kept, and whether it is the last one kept
  function keeps(i : integer) return std_logic is
  begin
    if i >= START and i < STOP then
      return '1';
    end if;
    return '0';
  end function;
  function ends(i : integer) return std_logic is
  begin
    if i = STOP - 1 then
      return '1';
    end if;
    return '0';
  end function;

  signal index : natural range 0 to N := 0;  -- N - 1 at most; N keeps index + 1 in range
                                             -- for synthesis
  -- keeps(index) and ends(index) as registers, computed with the index: the handshake
  -- (s_axis_tready follows m_axis_tready of a kept element) then starts at a flip-flop,
  -- not at the counter's comparisons with START and STOP
  signal kept  : std_logic := keeps(0);
  signal last  : std_logic := ends(0);
  signal ready : std_logic;
begin
  m_axis_tdata <= s_axis_tdata;
  m_axis_tlast <= last;
  -- rst /= '0': also before anything drives rst, the handshake outputs are '0'
  m_axis_tvalid <= '0' when rst /= '0' else s_axis_tvalid and kept;
  ready <= '0' when rst /= '0' else
           m_axis_tready when kept = '1' else
           '1';
  s_axis_tready <= ready;

  process (clk)
  begin
    if rising_edge(clk) then
      if rst = '1' then
        index <= 0;
        kept <= keeps(0);
        last <= ends(0);
      elsif s_axis_tvalid = '1' and ready = '1' then
        if index = N - 1 then
          index <= 0;
          kept <= keeps(0);
          last <= ends(0);
        else
          index <= index + 1;
          -- keeps(index + 1), ends(index + 1) as comparisons of index with constants
          kept <= '0';
          if index >= START - 1 and index < STOP - 1 then
            kept <= '1';
          end if;
          last <= '0';
          if index = STOP - 2 then
            last <= '1';
          end if;
        end if;
      end if;
    end if;
  end process;
end architecture rtl;

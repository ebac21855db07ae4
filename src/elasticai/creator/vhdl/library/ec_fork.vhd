-- ec_fork: one AXI4-Stream to OUTPUTS consumers ("eager fork"), zero latency.
-- Every consumer i gets every input beat, in order, with its tlast: m_axis_tdata and
-- m_axis_tlast are s_axis_tdata and s_axis_tlast (wires, shared by all consumers); each
-- consumer has its own m_axis_tvalid(i) / m_axis_tready(i).
-- A register done(i) per consumer remembers that consumer i already took the current beat:
--   m_axis_tvalid(i) = s_axis_tvalid and not done(i) and not rst
--   s_axis_tready    = not rst and (and over i of (m_axis_tready(i) or done(i)))
-- When the input beat transfers every done(i) clears; otherwise done(i) sets when consumer
-- i takes the beat. So the beat leaves the input when all consumers have taken it, they may
-- take it in different cycles, and it is offered to nobody twice.
-- Latency: 0 (combinational from input to outputs, no register on the data path).
-- Throughput: one beat per cycle while all consumers are ready.
-- Backpressure: m_axis_tvalid(i) depends on s_axis_tvalid and the registers only, never on
-- any m_axis_tready; s_axis_tready depends on m_axis_tready (combinationally). While
-- m_axis_tvalid(i) is high and m_axis_tready(i) low, data and tlast stay as the input keeps
-- them (AXI4-Stream: the upstream holds them). During reset (rst = '1') no beat transfers:
-- every m_axis_tvalid and s_axis_tready is low, every done(i) clears.
library ieee;
use ieee.std_logic_1164.all;

entity ec_fork is
  generic (
    WIDTH   : positive;
    OUTPUTS : positive
  );
  port (
    clk           : in  std_logic;
    rst           : in  std_logic;
    s_axis_tdata  : in  std_logic_vector(WIDTH - 1 downto 0);
    s_axis_tvalid : in  std_logic;
    s_axis_tready : out std_logic := '0';
    s_axis_tlast  : in  std_logic;
    m_axis_tdata  : out std_logic_vector(WIDTH - 1 downto 0) := (others => '0');
    m_axis_tvalid : out std_logic_vector(OUTPUTS - 1 downto 0) := (others => '0');
    m_axis_tready : in  std_logic_vector(OUTPUTS - 1 downto 0);
    m_axis_tlast  : out std_logic := '0'
  );
end entity ec_fork;

architecture rtl of ec_fork is
  signal done  : std_logic_vector(OUTPUTS - 1 downto 0) := (others => '0');
  signal valid : std_logic_vector(OUTPUTS - 1 downto 0);
  signal ready : std_logic;
begin
  m_axis_tdata <= s_axis_tdata;
  m_axis_tlast <= s_axis_tlast;

  outputs_gen : for i in 0 to OUTPUTS - 1 generate
    valid(i) <= s_axis_tvalid and not done(i) and not rst;
  end generate;
  m_axis_tvalid <= valid;

  all_ready : process (m_axis_tready, done, rst)
    variable r : std_logic;
  begin
    r := not rst;
    for i in 0 to OUTPUTS - 1 loop
      r := r and (m_axis_tready(i) or done(i));
    end loop;
    ready <= r;
  end process;
  s_axis_tready <= ready;

  process (clk)
  begin
    if rising_edge(clk) then
      if rst = '1' then
        done <= (others => '0');
      elsif s_axis_tvalid = '1' and ready = '1' then
        done <= (others => '0');
      else
        for i in 0 to OUTPUTS - 1 loop
          if valid(i) = '1' and m_axis_tready(i) = '1' then
            done(i) <= '1';
          end if;
        end loop;
      end if;
    end if;
  end process;
end architecture rtl;

-- ec_skid: the output end of a pipeline that moves on one clock enable: an output
-- register with a skid register behind it.
-- The pipeline's registers share the clock enable ce, itself a register (its user's
-- s_axis_tready), so neither a ready path through a chain of layers nor the enable's fan-out
-- depends on m_axis_tready within the cycle. n_* is the result entering the output register
-- in a cycle where ce is high. When the output register is full and not taken, the beat the
-- pipeline moves on in that cycle goes to the skid register, and ce falls for as long as the
-- skid register is full.
library ieee;
use ieee.std_logic_1164.all;

entity ec_skid is
  generic (
    WIDTH : positive
  );
  port (
    clk           : in  std_logic;
    rst           : in  std_logic;
    ce            : out std_logic := '0';
    -- four copies of ce for the pipeline's data registers (a quarter of the fan-out each);
    -- they differ from each other only in their initial and reset values (copy 0 has ce's,
    -- so synthesis makes it ce itself)
    ce_copy       : out std_logic_vector(0 to 3);
    n_data        : in  std_logic_vector(WIDTH - 1 downto 0);
    n_valid       : in  std_logic;
    n_last        : in  std_logic;
    m_axis_tdata  : out std_logic_vector(WIDTH - 1 downto 0) := (others => '0');
    m_axis_tvalid : out std_logic := '0';
    m_axis_tready : in  std_logic;
    m_axis_tlast  : out std_logic := '0'
  );
end entity ec_skid;

architecture rtl of ec_skid is
  signal ce_q   : std_logic := '0';
  -- initial value c mod 2, reset value (c / 2) mod 2: synthesis keeps the four apart
  signal ce_c   : std_logic_vector(0 to 3) := "0101";
  signal data_q : std_logic_vector(WIDTH - 1 downto 0) := (others => '0');
  signal valid_q, last_q : std_logic := '0';
  signal data_k : std_logic_vector(WIDTH - 1 downto 0) := (others => '0');
  signal valid_k, last_k : std_logic := '0';
begin
  ce <= ce_q;
  ce_copy <= ce_c;
  m_axis_tdata <= data_q;
  m_axis_tvalid <= valid_q;
  m_axis_tlast <= last_q;

  process (clk)
    variable kv : std_logic;
  begin
    if rising_edge(clk) then
      kv := valid_k;
      if ce_q = '1' then
        if valid_q = '0' or m_axis_tready = '1' then
          data_q <= n_data;
          valid_q <= n_valid;
          last_q <= n_last;
        elsif n_valid = '1' then
          data_k <= n_data;
          last_k <= n_last;
          kv := '1';
        end if;
      elsif m_axis_tready = '1' then
        data_q <= data_k;
        last_q <= last_k;
        kv := '0';
      end if;
      valid_k <= kv;
      ce_q <= not kv;
      ce_c <= (others => not kv);
      if rst = '1' then
        ce_c <= "0011";
        valid_q <= '0';
        last_q <= '0';
        valid_k <= '0';
        ce_q <= '0';
      end if;
    end if;
  end process;
end architecture rtl;

-- ec_pointwise: element-wise y = overflow(clamp(shift_round(x*MUL + ADD, SHIFT), LO, HI))
-- on LANES elements per beat, one pipeline register (latency 1, one beat per cycle).
-- PAD_LANES (default 0): number of padding lanes in the beat with tlast; they output zero.
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
    s_axis_tready : out std_logic;
    s_axis_tlast  : in  std_logic;
    m_axis_tdata  : out std_logic_vector(LANES * Y_WIDTH - 1 downto 0);
    m_axis_tvalid : out std_logic;
    m_axis_tready : in  std_logic;
    m_axis_tlast  : out std_logic
  );
end entity ec_pointwise;

architecture rtl of ec_pointwise is
  constant MUL_S : signed(MUL'length - 1 downto 0) := signed(MUL);
  constant ADD_S : signed(ADD'length - 1 downto 0) := signed(ADD);
  constant LO_S  : signed(LO'length - 1 downto 0) := signed(LO);
  constant HI_S  : signed(HI'length - 1 downto 0) := signed(HI);
  -- exact width of x*MUL + ADD
  constant TW : positive := imax(X_WIDTH + MUL'length, ADD'length) + 1;

  function lane(x : signed(X_WIDTH - 1 downto 0)) return signed is
    variable t : signed(TW - 1 downto 0);
  begin
    t := resize(x * MUL_S, TW) + resize(ADD_S, TW);
    return apply_overflow(clamp(shift_round(t, SHIFT, ROUNDING), LO_S, HI_S), OVERFLOW, Y_WIDTH);
  end function;

  signal data_q  : std_logic_vector(LANES * Y_WIDTH - 1 downto 0) := (others => '0');
  signal valid_q : std_logic := '0';
  signal last_q  : std_logic := '0';
  signal ready   : std_logic;
begin
  ready <= m_axis_tready or not valid_q;
  s_axis_tready <= ready;
  m_axis_tdata <= data_q;
  m_axis_tvalid <= valid_q;
  m_axis_tlast <= last_q;

  process (clk)
    variable x : signed(X_WIDTH - 1 downto 0);
  begin
    if rising_edge(clk) then
      if rst = '1' then
        valid_q <= '0';
        last_q <= '0';
        data_q <= (others => '0');
      elsif ready = '1' then
        valid_q <= s_axis_tvalid;
        if s_axis_tvalid = '1' then
          last_q <= s_axis_tlast;
          for k in 0 to LANES - 1 loop
            x := signed(s_axis_tdata(k * X_WIDTH + X_WIDTH - 1 downto k * X_WIDTH));
            if s_axis_tlast = '1' and k >= LANES - PAD_LANES then
              data_q(k * Y_WIDTH + Y_WIDTH - 1 downto k * Y_WIDTH) <= (others => '0');
            else
              data_q(k * Y_WIDTH + Y_WIDTH - 1 downto k * Y_WIDTH) <= std_logic_vector(lane(x));
            end if;
          end loop;
        end if;
      end if;
    end if;
  end process;
end architecture rtl;

-- ec_add: element-wise exact sum or difference of two AXI4-Stream streams (a residual
-- connection). A beat carries LANES elements, element 0 in the low bits. Per lane k:
--   y(k) = (a(k) << A_SHIFT) + (b(k) << B_SHIFT)      (SUBTRACT = false)
--   y(k) = (a(k) << A_SHIFT) - (b(k) << B_SHIFT)      (SUBTRACT = true)
-- all signed two's complement, computed exactly and sign-extended to Y_WIDTH. The caller
-- guarantees Y_WIDTH >= max(A_WIDTH + A_SHIFT, B_WIDTH + B_SHIFT) + 1 (asserted at
-- elaboration), so every result fits.
-- Beat n of a and beat n of b are consumed together: both inputs transfer in the same
-- cycle, when both are valid and the output register is empty or being emptied:
--   s_axis_a_tready = ce and s_axis_b_tvalid,  s_axis_b_tready = ce and s_axis_a_tvalid,
--   ce = m_axis_tready or not m_axis_tvalid
-- (the ready of one input depends on the valid of the other, never on its own valid).
-- m_axis_tlast = a's tlast of the pair (b's tlast is ignored).
-- Latency: 1 (output register): the output beat is offered from the cycle after the later
-- of the two input beats transferred. Throughput: one beat per cycle.
-- Backpressure: m_axis_tdata/tvalid/tlast are registers, held while m_axis_tready is low;
-- they have reset and initial values (m_axis_tvalid low from time zero and during reset).
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use work.ec_pkg.all;

entity ec_add is
  generic (
    LANES    : positive;
    A_WIDTH  : positive;
    B_WIDTH  : positive;
    Y_WIDTH  : positive;
    A_SHIFT  : natural;
    B_SHIFT  : natural;
    SUBTRACT : boolean := false
  );
  port (
    clk             : in  std_logic;
    rst             : in  std_logic;
    s_axis_a_tdata  : in  std_logic_vector(LANES * A_WIDTH - 1 downto 0);
    s_axis_a_tvalid : in  std_logic;
    s_axis_a_tready : out std_logic := '0';
    s_axis_a_tlast  : in  std_logic;
    s_axis_b_tdata  : in  std_logic_vector(LANES * B_WIDTH - 1 downto 0);
    s_axis_b_tvalid : in  std_logic;
    s_axis_b_tready : out std_logic := '0';
    s_axis_b_tlast  : in  std_logic;
    m_axis_tdata    : out std_logic_vector(LANES * Y_WIDTH - 1 downto 0) := (others => '0');
    m_axis_tvalid   : out std_logic := '0';
    m_axis_tready   : in  std_logic;
    m_axis_tlast    : out std_logic := '0'
  );
end entity ec_add;

architecture rtl of ec_add is
  -- exact width of the result
  constant W : positive := imax(A_WIDTH + A_SHIFT, B_WIDTH + B_SHIFT) + 1;

  function check return boolean is
  begin
    assert Y_WIDTH >= W
      report "ec_add: Y_WIDTH = " & integer'image(Y_WIDTH) & " is too narrow, the exact "
             & "result needs max(A_WIDTH + A_SHIFT, B_WIDTH + B_SHIFT) + 1 = "
             & integer'image(W) & " bits"
      severity failure;
    return true;
  end function;
  constant CHECKED : boolean := check;

  function lane_result(a : signed(A_WIDTH - 1 downto 0); b : signed(B_WIDTH - 1 downto 0))
    return signed is
    variable sa, sb, y : signed(W - 1 downto 0);
  begin
    sa := shift_left(resize(a, W), A_SHIFT);
    sb := shift_left(resize(b, W), B_SHIFT);
    if SUBTRACT then
      y := sa - sb;
    else
      y := sa + sb;
    end if;
    return resize(y, Y_WIDTH);
  end function;

  signal ce      : std_logic;
  signal both    : std_logic;
  signal data_q  : std_logic_vector(LANES * Y_WIDTH - 1 downto 0) := (others => '0');
  signal valid_q : std_logic := '0';
  signal last_q  : std_logic := '0';
begin
  ce <= m_axis_tready or not valid_q;
  both <= s_axis_a_tvalid and s_axis_b_tvalid;
  s_axis_a_tready <= ce and s_axis_b_tvalid;
  s_axis_b_tready <= ce and s_axis_a_tvalid;
  m_axis_tdata <= data_q;
  m_axis_tvalid <= valid_q;
  m_axis_tlast <= last_q;

  process (clk)
    variable a : signed(A_WIDTH - 1 downto 0);
    variable b : signed(B_WIDTH - 1 downto 0);
  begin
    if rising_edge(clk) then
      if rst = '1' then
        valid_q <= '0';
        last_q <= '0';
        data_q <= (others => '0');
      elsif ce = '1' then
        valid_q <= both;
        if both = '1' then
          last_q <= s_axis_a_tlast;
          for k in 0 to LANES - 1 loop
            a := signed(s_axis_a_tdata(k * A_WIDTH + A_WIDTH - 1 downto k * A_WIDTH));
            b := signed(s_axis_b_tdata(k * B_WIDTH + B_WIDTH - 1 downto k * B_WIDTH));
            data_q(k * Y_WIDTH + Y_WIDTH - 1 downto k * Y_WIDTH) <=
              std_logic_vector(lane_result(a, b));
          end loop;
        end if;
      end if;
    end if;
  end process;
end architecture rtl;

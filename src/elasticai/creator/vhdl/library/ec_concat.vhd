-- ec_concat: concatenation of two AXI4-Stream streams along channels (torch.cat(dim=1)).
-- Maps stream channels last: per position the A_CHANNELS elements of a, then the
-- B_CHANNELS elements of b (a vector is a map of one position). A sample is POSITIONS
-- positions. A beat carries *_LANES elements, element 0 in the low bits.
-- Every element is converted exactly: y = a << A_SHIFT, y = b << B_SHIFT, signed, sign-
-- extended to Y_WIDTH (asserted at elaboration: Y_WIDTH >= A_WIDTH + A_SHIFT and
-- Y_WIDTH >= B_WIDTH + B_SHIFT).
-- Two modes, chosen by the generics (anything else fails at elaboration):
--   * sequential: A_LANES = B_LANES = Y_LANES = L, L divides A_CHANNELS and B_CHANNELS.
--     Per position A_CHANNELS/L beats of a, then B_CHANNELS/L beats of b, each passed on
--     as one output beat (same lanes). Only the input in turn is ready:
--       s_axis_a_tready = ce while a's beats are due, else '0'; likewise b.
--   * side by side: A_LANES = A_CHANNELS, B_LANES = B_CHANNELS,
--     Y_LANES = A_CHANNELS + B_CHANNELS. One beat of a and one beat of b (a whole position
--     each) transfer together (as in ec_add: s_axis_a_tready = ce and s_axis_b_tvalid,
--     s_axis_b_tready = ce and s_axis_a_tvalid) and leave as one output beat, a in lanes
--     0 .. A_CHANNELS-1, b in lanes A_CHANNELS .. Y_LANES-1.
--   ce = m_axis_tready or not m_axis_tvalid. The input tlast is ignored: m_axis_tlast is
--   high on the last output beat of every POSITIONS positions, counted inside from reset.
-- Latency: 1 (output register): each output beat is offered from the cycle after the input
-- beat(s) it is made of transferred. Throughput: one output beat per cycle.
-- Backpressure: m_axis_tdata/tvalid/tlast are registers, held while m_axis_tready is low;
-- they have reset and initial values (m_axis_tvalid low from time zero and during reset).
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use work.ec_pkg.all;

entity ec_concat is
  generic (
    A_WIDTH    : positive;
    B_WIDTH    : positive;
    Y_WIDTH    : positive;
    A_SHIFT    : natural;
    B_SHIFT    : natural;
    A_CHANNELS : positive;
    B_CHANNELS : positive;
    POSITIONS  : positive;
    A_LANES    : positive;
    B_LANES    : positive;
    Y_LANES    : positive
  );
  port (
    clk             : in  std_logic;
    rst             : in  std_logic;
    s_axis_a_tdata  : in  std_logic_vector(A_LANES * A_WIDTH - 1 downto 0);
    s_axis_a_tvalid : in  std_logic;
    s_axis_a_tready : out std_logic := '0';
    s_axis_a_tlast  : in  std_logic;
    s_axis_b_tdata  : in  std_logic_vector(B_LANES * B_WIDTH - 1 downto 0);
    s_axis_b_tvalid : in  std_logic;
    s_axis_b_tready : out std_logic := '0';
    s_axis_b_tlast  : in  std_logic;
    m_axis_tdata    : out std_logic_vector(Y_LANES * Y_WIDTH - 1 downto 0) := (others => '0');
    m_axis_tvalid   : out std_logic := '0';
    m_axis_tready   : in  std_logic;
    m_axis_tlast    : out std_logic := '0'
  );
end entity ec_concat;

architecture rtl of ec_concat is
  function select_mode return boolean is  -- true: sequential, false: side by side
    constant L : positive := A_LANES;
  begin
    assert Y_WIDTH >= A_WIDTH + A_SHIFT and Y_WIDTH >= B_WIDTH + B_SHIFT
      report "ec_concat: Y_WIDTH = " & integer'image(Y_WIDTH) & " cannot hold a << A_SHIFT ("
             & integer'image(A_WIDTH + A_SHIFT) & " bits) and b << B_SHIFT ("
             & integer'image(B_WIDTH + B_SHIFT) & " bits)"
      severity failure;
    if B_LANES = L and Y_LANES = L and A_CHANNELS mod L = 0 and B_CHANNELS mod L = 0 then
      return true;
    end if;
    assert A_LANES = A_CHANNELS and B_LANES = B_CHANNELS
           and Y_LANES = A_CHANNELS + B_CHANNELS
      report "ec_concat: unsupported lanes A_LANES=" & integer'image(A_LANES)
             & " B_LANES=" & integer'image(B_LANES) & " Y_LANES=" & integer'image(Y_LANES)
             & " for A_CHANNELS=" & integer'image(A_CHANNELS)
             & " B_CHANNELS=" & integer'image(B_CHANNELS)
             & "; need either A_LANES = B_LANES = Y_LANES dividing both channel counts"
             & " (sequential) or A_LANES = A_CHANNELS, B_LANES = B_CHANNELS,"
             & " Y_LANES = A_CHANNELS + B_CHANNELS (side by side)"
      severity failure;
    return false;
  end function;
  constant SEQUENTIAL : boolean := select_mode;

  -- beats per position of a and of b (sequential mode)
  constant NA : positive := imax(1, A_CHANNELS / A_LANES);
  constant NB : positive := imax(1, B_CHANNELS / B_LANES);

  function conv_a(x : std_logic_vector(A_WIDTH - 1 downto 0)) return std_logic_vector is
  begin
    return std_logic_vector(shift_left(resize(signed(x), Y_WIDTH), A_SHIFT));
  end function;

  function conv_b(x : std_logic_vector(B_WIDTH - 1 downto 0)) return std_logic_vector is
  begin
    return std_logic_vector(shift_left(resize(signed(x), Y_WIDTH), B_SHIFT));
  end function;

  signal ce      : std_logic;
  signal data_q  : std_logic_vector(Y_LANES * Y_WIDTH - 1 downto 0) := (others => '0');
  signal valid_q : std_logic := '0';
  signal last_q  : std_logic := '0';
  signal pos     : natural range 0 to POSITIONS - 1 := 0;
begin
  ce <= m_axis_tready or not valid_q;
  m_axis_tdata <= data_q;
  m_axis_tvalid <= valid_q;
  m_axis_tlast <= last_q;

  seq_gen : if SEQUENTIAL generate
    signal in_b : std_logic := '0';  -- b's beats are due
    signal beat : natural range 0 to imax(NA, NB) - 1 := 0;
    signal hs   : std_logic;
  begin
    s_axis_a_tready <= ce and not in_b;
    s_axis_b_tready <= ce and in_b;
    hs <= ce and s_axis_b_tvalid when in_b = '1' else ce and s_axis_a_tvalid;

    process (clk)
    begin
      if rising_edge(clk) then
        if rst = '1' then
          valid_q <= '0';
          last_q <= '0';
          data_q <= (others => '0');
          in_b <= '0';
          beat <= 0;
          pos <= 0;
        elsif ce = '1' then
          valid_q <= hs;
          if hs = '1' then
            last_q <= '0';
            if in_b = '0' then
              for k in 0 to A_LANES - 1 loop
                data_q(k * Y_WIDTH + Y_WIDTH - 1 downto k * Y_WIDTH) <=
                  conv_a(s_axis_a_tdata(k * A_WIDTH + A_WIDTH - 1 downto k * A_WIDTH));
              end loop;
              if beat = NA - 1 then
                beat <= 0;
                in_b <= '1';
              else
                beat <= beat + 1;
              end if;
            else
              for k in 0 to B_LANES - 1 loop
                data_q(k * Y_WIDTH + Y_WIDTH - 1 downto k * Y_WIDTH) <=
                  conv_b(s_axis_b_tdata(k * B_WIDTH + B_WIDTH - 1 downto k * B_WIDTH));
              end loop;
              if beat = NB - 1 then
                beat <= 0;
                in_b <= '0';
                if pos = POSITIONS - 1 then
                  pos <= 0;
                  last_q <= '1';
                else
                  pos <= pos + 1;
                end if;
              else
                beat <= beat + 1;
              end if;
            end if;
          end if;
        end if;
      end if;
    end process;
  end generate;

  side_gen : if not SEQUENTIAL generate
    signal both : std_logic;
  begin
    both <= s_axis_a_tvalid and s_axis_b_tvalid;
    s_axis_a_tready <= ce and s_axis_b_tvalid;
    s_axis_b_tready <= ce and s_axis_a_tvalid;

    process (clk)
    begin
      if rising_edge(clk) then
        if rst = '1' then
          valid_q <= '0';
          last_q <= '0';
          data_q <= (others => '0');
          pos <= 0;
        elsif ce = '1' then
          valid_q <= both;
          if both = '1' then
            for k in 0 to A_LANES - 1 loop
              data_q(k * Y_WIDTH + Y_WIDTH - 1 downto k * Y_WIDTH) <=
                conv_a(s_axis_a_tdata(k * A_WIDTH + A_WIDTH - 1 downto k * A_WIDTH));
            end loop;
            for k in 0 to B_LANES - 1 loop
              data_q((A_LANES + k) * Y_WIDTH + Y_WIDTH - 1 downto (A_LANES + k) * Y_WIDTH) <=
                conv_b(s_axis_b_tdata(k * B_WIDTH + B_WIDTH - 1 downto k * B_WIDTH));
            end loop;
            if pos = POSITIONS - 1 then
              pos <= 0;
              last_q <= '1';
            else
              pos <= pos + 1;
              last_q <= '0';
            end if;
          end if;
        end if;
      end if;
    end process;
  end generate;
end architecture rtl;

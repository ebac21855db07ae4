-- ec_framer: checks that every input sample is BEATS beats long, its last one (only) with
-- tlast, and keeps the design aligned to samples when one is not.
-- Passes beats through (no register, no latency): m_axis_tdata = s_axis_tdata,
-- m_axis_tvalid = s_axis_tvalid, s_axis_tready = m_axis_tready, and m_axis_tlast marks the
-- BEATS-th beat of each sample, counted. Where the input disagrees:
--   * a sample that ends early (s_axis_tlast on beat k < BEATS-1): the framer adds BEATS-1-k
--     beats of zeros (not reading the input meanwhile), so the design computes a whole
--     sample and the next input beat starts the next one;
--   * a sample that runs long (no s_axis_tlast on beat BEATS-1): the framer ends the sample
--     there and then takes and drops input beats up to and including the next one with
--     s_axis_tlast.
-- Either sets tlast_error, which stays '1' until reset. During reset m_axis_tvalid and
-- s_axis_tready are '0' (also while rst is not yet driven); every output is '0' from
-- time zero.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity ec_framer is
  generic (
    WIDTH : positive;  -- bits per beat
    BEATS : positive   -- beats per sample
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
    m_axis_tlast  : out std_logic := '0';
    tlast_error   : out std_logic := '0'
  );
end entity ec_framer;

architecture rtl of ec_framer is
  type state_t is (PASS, PAD, DROP);
  signal state : state_t := PASS;
  signal beat  : natural range 0 to BEATS := 0;  -- BEATS - 1 at most; BEATS keeps
                                                 -- beat + 1 in range for synthesis
  signal error : std_logic := '0';
  signal last  : std_logic;
  -- '1' in state PASS: one flip-flop gates the data (not a decode of the state)
  signal passing : std_logic := '1';
begin
  last <= '1' when beat = BEATS - 1 else '0';
  m_axis_tlast <= last;
  tlast_error <= error;

  m_axis_tdata <= s_axis_tdata when passing = '1' else (others => '0');
  -- rst /= '0': also before anything drives rst, the handshake outputs are '0'
  m_axis_tvalid <= '0' when rst /= '0' else
                   s_axis_tvalid when state = PASS else
                   '1' when state = PAD else
                   '0';
  s_axis_tready <= '0' when rst /= '0' else
                   m_axis_tready when state = PASS else
                   '1' when state = DROP else
                   '0';

  process (clk)
    variable nxt : state_t;  -- the next state; passing follows it (one place, no drift)
  begin
    if rising_edge(clk) then
      nxt := state;
      if rst = '1' then
        nxt := PASS;
        beat <= 0;
        error <= '0';
      else
        -- if/elsif, not case: GHDL writes a case over the state as a Verilog case
        -- without default, which Yosys and nextpnr take for latches
        if state = PASS then
          if s_axis_tvalid = '1' and m_axis_tready = '1' then
            if last = '1' then
              beat <= 0;
              if s_axis_tlast = '0' then  -- runs long: drop up to its tlast
                nxt := DROP;
                error <= '1';
              end if;
            else
              beat <= beat + 1;
              if s_axis_tlast = '1' then  -- ends early: pad with zeros
                nxt := PAD;
                error <= '1';
              end if;
            end if;
          end if;
        elsif state = PAD then
          if m_axis_tready = '1' then
            if last = '1' then
              beat <= 0;
              nxt := PASS;
            else
              beat <= beat + 1;
            end if;
          end if;
        else  -- DROP
          if s_axis_tvalid = '1' and s_axis_tlast = '1' then
            nxt := PASS;
          end if;
        end if;
      end if;
      state <= nxt;
      if nxt = PASS then
        passing <= '1';
      else
        passing <= '0';
      end if;
    end if;
  end process;
end architecture rtl;

-- ec_stream_source (simulation only): offers the beats of FILE_NAME on an AXI4-Stream
-- master port. Each line: <WIDTH binary digits, MSB first> <tlast 0|1>.
-- Before each beat it idles 1..4 cycles with probability STALL_PERCENT (math_real.uniform,
-- seeded by SEED). LOG_NAME gets one line per accepted beat: the cycle number, counted as
-- rising edges of clk with rst = '0' (0 = first such edge). done = '1' after the last beat.
-- A reset (rst = '1' at a rising edge) after the first one, at any time, makes it drop
-- tvalid, write a line "reset" to LOG_NAME, and start over from the beginning of
-- FILE_NAME (re-opened) at the first rising edge with rst = '0'.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use ieee.math_real.all;
use std.textio.all;

entity ec_stream_source is
  generic (
    WIDTH         : positive;
    FILE_NAME     : string;
    SEED          : positive := 1;
    STALL_PERCENT : natural := 0;
    LOG_NAME      : string := "source_log.txt"
  );
  port (
    clk           : in  std_logic;
    rst           : in  std_logic;
    m_axis_tdata  : out std_logic_vector(WIDTH - 1 downto 0);
    m_axis_tvalid : out std_logic;
    m_axis_tlast  : out std_logic;
    m_axis_tready : in  std_logic;
    done          : out std_logic
  );
end entity ec_stream_source;

architecture sim of ec_stream_source is
  signal cycle : natural := 0;
begin
  count : process (clk)
  begin
    if rising_edge(clk) then
      if rst = '1' then
        cycle <= 0;
      else
        cycle <= cycle + 1;
      end if;
    end if;
  end process;

  drive : process
    file f : text;
    file logf : text;
    variable l : line;
    variable lo : line;
    variable bits : std_logic_vector(WIDTH - 1 downto 0);
    variable lastv : character;
    variable good : boolean;
    variable s1 : positive := SEED;
    variable s2 : positive := 7919;
    variable r : real;
    variable idle : natural;
    variable restart : boolean;
  begin
    file_open(logf, LOG_NAME, write_mode);
    session : loop
      m_axis_tvalid <= '0';
      m_axis_tdata <= (others => '0');
      m_axis_tlast <= '0';
      done <= '0';
      file_open(f, FILE_NAME, read_mode);
      wait until rising_edge(clk) and rst = '0';
      restart := false;
      beats : while not endfile(f) loop
        readline(f, l);
        if l'length > 0 then
          read(l, bits, good);
          assert good report "ec_stream_source: bad data in " & FILE_NAME severity failure;
          loop
            read(l, lastv, good);
            exit when not good or lastv /= ' ';
          end loop;
          assert good and (lastv = '0' or lastv = '1')
            report "ec_stream_source: bad tlast in " & FILE_NAME severity failure;
          uniform(s1, s2, r);
          if r * 100.0 < real(STALL_PERCENT) then
            uniform(s1, s2, r);
            idle := 1 + integer(floor(r * 4.0));
            m_axis_tvalid <= '0';
            for k in 1 to idle loop
              wait until rising_edge(clk);
              if rst = '1' then
                restart := true;
                exit;
              end if;
            end loop;
            exit beats when restart;
          end if;
          m_axis_tdata <= bits;
          if lastv = '1' then m_axis_tlast <= '1'; else m_axis_tlast <= '0'; end if;
          m_axis_tvalid <= '1';
          loop
            wait until rising_edge(clk);
            if rst = '1' then
              restart := true;
              exit;
            end if;
            exit when m_axis_tready = '1';
          end loop;
          exit beats when restart;
          write(lo, cycle);
          writeline(logf, lo);
          m_axis_tvalid <= '0';
        end if;
      end loop;
      if not restart then
        m_axis_tvalid <= '0';
        m_axis_tdata <= (others => '0');
        m_axis_tlast <= '0';
        file_close(logf);
        done <= '1';
        wait until rising_edge(clk) and rst = '1';
        file_open(logf, LOG_NAME, append_mode);
      end if;
      -- reset: start over
      file_close(f);
      write(lo, string'("reset"));
      writeline(logf, lo);
    end loop;
  end process;
end architecture sim;

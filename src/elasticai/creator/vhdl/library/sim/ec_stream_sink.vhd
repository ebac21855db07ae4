-- ec_stream_sink (simulation only): accepts an AXI4-Stream, deasserting tready with
-- probability STALL_PERCENT each cycle (math_real.uniform, seeded by SEED), and writes
-- FILE_NAME, one line per accepted beat: <binary MSB first> <tlast 0|1> <cycle>, cycle
-- counted as in ec_stream_source. After EXPECTED_SAMPLES beats with tlast it closes the
-- file and calls std.env.finish; after MAX_CYCLES cycles it fails (severity failure).
-- It also checks the stream protocol: no metavalues on tvalid (or on tdata/tlast while
-- valid), and data/tlast held and valid kept while not accepted.
-- HOLD_CYCLES > 0: after the first accepted beat, and after each later one with
-- probability HOLD_PERCENT (its own random stream, seeded by SEED, so the stalls stay
-- the same), tready stays low for HOLD_CYCLES cycles.
-- A reset (rst = '1' at a rising edge) after the first one writes a line "reset" to
-- FILE_NAME (once per reset pulse) and starts counting samples (and cycles) afresh.
-- EXPECTED_FILE /= "" makes it self-checking: each accepted beat is compared with the next
-- line <binary MSB first> <tlast 0|1> of EXPECTED_FILE (read afresh after a reset); the
-- first MAX_REPORTS differences are reported (severity error), and at the end it reports
-- "PASS: ..." (severity note) or "FAIL: ..." (severity failure, a non-zero exit).
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use ieee.math_real.all;
use std.textio.all;

entity ec_stream_sink is
  generic (
    WIDTH            : positive;
    FILE_NAME        : string;
    SEED             : positive := 2;
    STALL_PERCENT    : natural := 0;
    EXPECTED_SAMPLES : natural := 1;
    MAX_CYCLES       : natural := 100000;
    HOLD_CYCLES      : natural := 0;
    HOLD_PERCENT     : natural := 10;
    EXPECTED_FILE    : string := "";
    MAX_REPORTS      : natural := 10
  );
  port (
    clk           : in  std_logic;
    rst           : in  std_logic;
    s_axis_tdata  : in  std_logic_vector(WIDTH - 1 downto 0);
    s_axis_tvalid : in  std_logic;
    s_axis_tready : out std_logic;
    s_axis_tlast  : in  std_logic
  );
end entity ec_stream_sink;

architecture sim of ec_stream_sink is
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

  take : process
    file f : text;
    variable l : line;
    variable s1 : positive := SEED;
    variable s2 : positive := 104729;
    variable r : real;
    variable ready : std_logic := '0';
    variable samples : natural := 0;
    variable pending : boolean := false;
    variable pdata : std_logic_vector(WIDTH - 1 downto 0);
    variable plast : std_logic;
    variable h1 : positive := SEED;
    variable h2 : positive := 15485863;
    variable hr : real;
    variable hold : natural := 0;
    variable accepted : natural := 0;
    variable in_reset : boolean := false;
    file expected : text;
    variable el : line;
    variable want : std_logic_vector(WIDTH - 1 downto 0);
    variable want_last : std_logic;
    variable beats : natural := 0;  -- compared since the last reset
    variable wrong : natural := 0;
    constant CHECK : boolean := EXPECTED_FILE'length > 0;
  begin
    s_axis_tready <= '0';
    file_open(f, FILE_NAME, write_mode);
    if CHECK then
      file_open(expected, EXPECTED_FILE, read_mode);
    end if;
    wait until rising_edge(clk) and rst = '0';
    loop
      if hold > 0 then
        ready := '0';
        hold := hold - 1;
      else
        uniform(s1, s2, r);
        if r * 100.0 < real(STALL_PERCENT) then ready := '0'; else ready := '1'; end if;
      end if;
      s_axis_tready <= ready;
      wait until rising_edge(clk);
      if rst = '1' then
        if not in_reset then
          write(l, string'("reset"));
          writeline(f, l);
        end if;
        in_reset := true;
        samples := 0;
        pending := false;
        hold := 0;
        accepted := 0;
        if CHECK and (beats > 0 or wrong > 0) then
          file_close(expected);
          file_open(expected, EXPECTED_FILE, read_mode);
          beats := 0;
          wrong := 0;
        end if;
      else
        in_reset := false;
        assert s_axis_tvalid = '0' or s_axis_tvalid = '1'
          report "ec_stream_sink: tvalid is " & std_logic'image(s_axis_tvalid) severity failure;
        if pending then
          assert s_axis_tvalid = '1'
            report "ec_stream_sink: tvalid dropped before the handshake" severity failure;
          assert s_axis_tdata = pdata and s_axis_tlast = plast
            report "ec_stream_sink: tdata/tlast changed while not accepted" severity failure;
        end if;
        pending := false;
        if s_axis_tvalid = '1' then
          assert not is_x(s_axis_tdata) and not is_x(s_axis_tlast)
            report "ec_stream_sink: metavalue on tdata/tlast" severity failure;
          if ready = '1' then
            write(l, s_axis_tdata);
            write(l, string'(" "));
            if s_axis_tlast = '1' then write(l, string'("1")); else write(l, string'("0")); end if;
            write(l, string'(" "));
            write(l, cycle);
            writeline(f, l);
            if CHECK then
              assert not endfile(expected)
                report "FAIL: output beat " & integer'image(beats) & " is beyond the end of "
                       & EXPECTED_FILE severity failure;
              readline(expected, el);
              read(el, want);
              read(el, want_last);
              if s_axis_tdata /= want or s_axis_tlast /= want_last then
                wrong := wrong + 1;
                if wrong <= MAX_REPORTS then
                  report "output beat " & integer'image(beats) & " (sample "
                         & integer'image(samples) & "): got " & to_string(s_axis_tdata)
                         & " tlast " & std_logic'image(s_axis_tlast) & ", expected "
                         & to_string(want) & " tlast " & std_logic'image(want_last)
                    severity error;
                end if;
              end if;
              beats := beats + 1;
            end if;
            if HOLD_CYCLES > 0 then
              uniform(h1, h2, hr);
              if accepted = 0 or hr * 100.0 < real(HOLD_PERCENT) then
                hold := HOLD_CYCLES;
              end if;
            end if;
            accepted := accepted + 1;
            if s_axis_tlast = '1' then
              samples := samples + 1;
              if samples >= EXPECTED_SAMPLES then
                file_close(f);
                if CHECK then
                  assert wrong > 0
                    report "PASS: " & integer'image(samples) & " samples, all "
                           & integer'image(beats) & " output beats as expected"
                    severity note;
                  assert wrong = 0
                    report "FAIL: " & integer'image(wrong) & " of " & integer'image(beats)
                           & " output beats differ from " & EXPECTED_FILE
                    severity failure;
                end if;
                std.env.finish;
                wait;
              end if;
            end if;
          else
            pending := true;
            pdata := s_axis_tdata;
            plast := s_axis_tlast;
          end if;
        end if;
        assert cycle < MAX_CYCLES
          report "FAIL: ec_stream_sink: timeout after " & integer'image(MAX_CYCLES) & " cycles, "
                 & integer'image(samples) & " of " & integer'image(EXPECTED_SAMPLES)
                 & " samples received"
          severity failure;
      end if;
    end loop;
  end process;
end architecture sim;

-- ec_window: sliding windows (im2col) of a channels-last sample, for convolutions and
-- pooling, 1-D (IN_H = K_H = OUT_H = 1) and 2-D.
-- Input sample x[ih, iw, c] (IN_H x IN_W x CHANNELS, c fastest): N = IN_H*IN_W*CHANNELS
-- elements, IN_LANES per beat (element 0 in the low bits), ceil(N / IN_LANES) beats; lanes
-- beyond N in the last beat are ignored. Beats are counted (s_axis_tlast is not used).
-- Output per sample: for oh in 0 .. OUT_H-1, ow in 0 .. OUT_W-1 (row-major) one window of
-- KC = K_H*K_W*CHANNELS elements; element e = (kh*K_W + kw)*CHANNELS + c is x[ih, iw, c]
-- with ih = oh*STRIDE_H - PAD_T + kh*DIL_H, iw = ow*STRIDE_W - PAD_L + kw*DIL_W, or
-- PAD_VALUE where (ih, iw) lies outside the input. A window is ceil(KC / OUT_LANES) beats
-- of OUT_LANES elements (lanes beyond KC in its last beat are 0); m_axis_tlast marks the
-- last beat of the sample's last window.
-- Architecture:
--   * Sample memory, one copy per output lane (an output lane may need any element): each
--     input beat is written to every copy, each copy has one synchronous read port (simple
--     dual-port RAM). Two modes (MEM_WORDS):
--     - MEM_WORDS = 0, double buffer: 2 banks of NW = ceil(N / IN_LANES) words of IN_LANES
--       elements (word address 2*word + bank). Sample n+1 is written while the windows of
--       sample n are read.
--     - MEM_WORDS > 0, ring (line buffer): the words stream through a ring continuously
--       across samples (word w of sample n is word g = n*NW + w of the stream, at ring
--       address g mod P, P = MEM_WORDS rounded up to a power of two), which holds only the
--       band of rows (2-D) / positions (1-D) the windows still need. The writer may write
--       word g only while g < LOW + MEM_WORDS, LOW (below) a lower bound of every word the
--       beat in the address stage and all later beats read, so it never overwrites a word
--       a beat still reads (a beat reads the RAM when it issues). The reader issues a beat
--       once its words are written, as in the double buffer.
--   * Beat sequencer: beat-in-window b, window position (oh*STRIDE_H, ow*STRIDE_W) and the
--     running base address of the window (element index of its top-left corner, kept
--     biased to be >= 0 and split into word and element-in-word: stepping is an add and
--     one conditional subtract, no division). Constant per-beat, per-lane tables (built
--     at elaboration) give each lane's kernel row/column and address offset. Whether kernel
--     row kh / column kw of the window lies in the padding is a flag per kh / kw, kept
--     with the window position (compared with constants a step ahead).
--   * Prefetch stage, then address stage (registered, the beat after the address stage's
--     in the prefetch stage): per lane the word, the element in the word, and whether the
--     lane is padding (PAD_VALUE) or beyond KC (0); in ring mode also the writer's limit
--     from the window's LOW. The prefetch stage is always full (it is loaded with the
--     first beat at reset), so it costs no cycle. Before it, a lanes stage holds the next
--     beat's per-lane words (the adders of base and offset), so the prefetch stage's tree
--     that picks the highest word (hi, below) starts at registers; it is always full too.
--   * Issue (early start): the beat in the address stage issues when every word its
--     non-padding lanes read has been written (lane word < words of its sample written),
--     and at least the sample's first input beat has arrived; the sample's last output
--     beat waits for the whole sample (in the double buffer it releases the bank). That
--     flag (avail) is a register: each cycle it is computed for the next one, for both
--     beats the address stage may hold then (its own, the prefetch stage's) and both
--     word counts (a word written or not), and the late load and write enables select.
--     So the comparisons are of registers, and the issue decision that enables the
--     stages is one gate behind a flip-flop. A beat's lanes that read the memory read
--     words in increasing order, so each stage keeps the highest (hi) and the comparisons
--     are of that one word, not of every lane's.
--   * RAM read register -> output register (element select, PAD_VALUE, 0).
--   A global clock enable (ce) freezes address stage, read and output registers while the
--   output register is full and not accepted; the input side keeps accepting into the
--   free bank (into the ring while it has room).
-- Ring mode in detail. Window (oh, ow) has its top-left corner at element
-- u(oh, ow) = ((oh*STRIDE_H - PAD_T)*IN_W + ow*STRIDE_W - PAD_L)*CHANNELS (< 0 in the
-- padding) of its sample, and
--     LOW(oh, ow) = min(floor(u(oh, ow) / IN_LANES), R(oh), NW)   (words of the sample)
-- with R(oh) = floor(u(oh, 0) / IN_LANES) + floor(STRIDE_H*IN_W*CHANNELS / IN_LANES) for
-- oh < OUT_H - 1 if ROW_MIN, else no bound. A window reads elements >= u only, the later
-- windows of its row have larger u, those of later rows u >= u(oh+1, 0) (which the row's
-- windows never pass unless ROW_MIN: (OUT_W-1)*STRIDE_W > STRIDE_H*IN_W, windows beyond
-- the row's end), later samples words >= NW: so LOW bounds every word still to be read.
-- It is the window's base word (the sequencer's), the other two terms exist only where
-- the geometry needs them. The writer keeps WREL, the words of the address-stage beat's
-- sample written so far (it drops by NW when the address stage moves on to the next
-- sample), and may write while WREL < LOW + MEM_WORDS; a beat's lane word w is written
-- when w < WREL. Minimum size (elaboration assert): a beat needs the words up to HI (its
-- highest non-padding word, at least word 0; NW - 1 for the sample's last beat), the
-- writer gets to LOW + MEM_WORDS - 1, so the ring cannot deadlock iff
--     MEM_WORDS >= max(max over windows of max(HI, 0) - LOW + 1, NW - LOW(last window))
-- (the span of a window in words, from its top-left corner, plus what the sample's last
-- beat waits for). A ring that size may hold the writer back until the current window is
-- done; one that also holds the next window (WindowParams.memory_words) keeps the reader
-- fed as the double buffer does.
-- Timing (exact, when not frozen by the consumer): a beat issues one cycle after the input
-- handshake (rising edge t) that completes what it waits for: the input beat holding the
-- largest word its non-padding lanes read, at least the sample's first input beat (so an
-- all-padding beat waits for that), and for the sample's last output beat the sample's last
-- input beat. It issues at edge t+1 (if the previous beat issued by edge t), is in the
-- output register after edge t+2 (m_axis_tvalid = '1'), and a ready consumer takes it at
-- edge t+3. Beats issue at most one per cycle, so with the consumer always ready the
-- output beat k leaves at cycle max(t_k + 3, out_{k-1} + 1), t_k its input handshake's
-- cycle: one beat per clock once the data are there, also across samples (no gap at a
-- sample boundary). The same holds in ring mode while the ring does not hold the writer
-- back.
-- Resources: RL = min(OUT_LANES, KC) RAM copies of 2*NW words (ring: P words) x
-- IN_LANES*X_WIDTH bits (LUTRAM or block RAM); per lane a ceil(KC / OUT_LANES)-entry
-- offset table (a constant when a window is one beat), three stages of its address
-- registers and an IN_LANES:1 element multiplexer (ring: and a ring address adder); per
-- stage the highest word its lanes read (a tree of 2:1 multiplexers over the lanes), and
-- four word comparisons in all (two beats, two word counts; ring: six, the prefetch
-- stage's beat also against the next sample's count); the sequencer's counters and K_H + K_W
-- padding flags of up to two constant comparisons each (ring: the writer's address, WREL
-- and two offset copies of it, LOW per stage, and six comparisons for a registered
-- s_axis_tready). No multipliers or dividers.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use work.ec_pkg.all;

entity ec_window is
  generic (
    X_WIDTH   : positive;            -- element width (two's complement)
    CHANNELS  : positive;
    IN_H      : positive;            -- 1 for 1-D
    IN_W      : positive;
    OUT_H     : positive;            -- 1 for 1-D
    OUT_W     : positive;
    K_H       : positive;            -- 1 for 1-D
    K_W       : positive;
    STRIDE_H  : positive := 1;
    STRIDE_W  : positive := 1;
    DIL_H     : positive := 1;
    DIL_W     : positive := 1;
    PAD_T     : natural := 0;        -- padding rows on top (bottom: implied by OUT_H)
    PAD_L     : natural := 0;        -- padding columns on the left (right: implied by OUT_W)
    PAD_VALUE : std_logic_vector;    -- X_WIDTH bits, value of padded elements
    IN_LANES  : positive := 1;
    OUT_LANES : positive := 1;
    MEM_WORDS : natural := 0         -- 0: double buffer; else the ring's words (see above)
  );
  port (
    clk           : in  std_logic;
    rst           : in  std_logic;
    s_axis_tdata  : in  std_logic_vector(IN_LANES * X_WIDTH - 1 downto 0);
    s_axis_tvalid : in  std_logic;
    s_axis_tready : out std_logic := '0';
    s_axis_tlast  : in  std_logic;
    m_axis_tdata  : out std_logic_vector(OUT_LANES * X_WIDTH - 1 downto 0) := (others => '0');
    m_axis_tvalid : out std_logic := '0';
    m_axis_tready : in  std_logic;
    m_axis_tlast  : out std_logic := '0'
  );
end entity ec_window;

architecture rtl of ec_window is
  constant C  : positive := CHANNELS;
  constant N  : positive := IN_H * IN_W * C;
  constant NW : positive := ceil_div(N, IN_LANES);      -- words (input beats) per sample
  constant KC : positive := K_H * K_W * C;
  constant NB : positive := ceil_div(KC, OUT_LANES);    -- beats per window
  constant RL : positive := imin(OUT_LANES, KC);        -- lanes that read the memory

  -- window position, biased: rows oh*STRIDE_H (= ih of kh = 0, plus PAD_T), columns likewise
  constant ROW_MAX : natural := (OUT_H - 1) * STRIDE_H;
  constant COL_MAX : natural := (OUT_W - 1) * STRIDE_W;
  -- running base address: element index of x[oh*STRIDE_H - PAD_T, ow*STRIDE_W - PAD_L, 0]
  -- plus BIAS_W*IN_LANES (>= 0), held as word * IN_LANES + element in word
  constant BIAS_W   : natural := ceil_div(PAD_T * IN_W * C + PAD_L * C, IN_LANES);
  constant BASE0    : natural := BIAS_W * IN_LANES - PAD_T * IN_W * C - PAD_L * C;
  constant COL_STEP : natural := STRIDE_W * C;
  constant ROW_STEP : natural := STRIDE_H * IN_W * C;
  constant BASE_MAX : natural := BASE0 + (OUT_H - 1) * ROW_STEP + (OUT_W - 1) * COL_STEP;
  constant BW_MAX   : natural := BASE_MAX / IN_LANES;
  constant OFF_MAX  : natural := ((K_H - 1) * DIL_H * IN_W + (K_W - 1) * DIL_W) * C + C - 1;
  constant OW_MAX   : natural := OFF_MAX / IN_LANES;
  constant W_MAX    : natural := BW_MAX + OW_MAX + 1;

  -- ring mode (see the header); LOW is held biased like base_w (LOW + BIAS_W >= 0)
  constant RING    : boolean := MEM_WORDS > 0;
  constant M       : positive := imax(MEM_WORDS, 1);
  constant PB      : positive := index_width(M);                    -- ring address bits
  constant RS_W    : natural := ROW_STEP / IN_LANES;
  constant ROW_MIN : boolean := OUT_H > 1 and (OUT_W - 1) * COL_STEP > ROW_STEP;
  constant LOW_TOP : natural := NW + BIAS_W;                        -- LOW <= NW, biased
  constant CLAMP   : boolean := BW_MAX > LOW_TOP;
  constant LIM_MAX : natural := BW_MAX + RS_W + M;
  constant LOW0    : natural := BASE0 / IN_LANES;                   -- LOW of window (0, 0)
  constant WQ_MIN  : integer := 1 + BIAS_W - M;                     -- WQ (below) range
  constant WQ_MAX  : integer := LIM_MAX + 1 + BIAS_W - M;

  -- a < b and a <= b for the writer's and the address stage's counters, as ec_pkg.less:
  -- bit logic, no carry chain (whose carry out leaves an ECP5 slice slowly) on the ready
  -- and issue paths
  constant CMP_W : positive :=
    clog2(imax(imax(LIM_MAX, LOW0 + NW), imax(WQ_MAX, 1 - WQ_MIN)) + 1) + 2;
  function lt(a : integer; b : integer) return boolean is
  begin
    return less(to_signed(a, CMP_W), to_signed(b, CMP_W)) = '1';
  end function;
  function le(a : integer; b : integer) return boolean is
  begin
    return not lt(b, a);
  end function;

  -- whether a step of the window to the next column (COL) or row (ROW) ever carries into
  -- the next word: where it never does, the carrying branch is left out, so synthesis
  -- never folds a word address one past its range (GHDL 2.0 stopped on it, e.g. a single
  -- output column with IN_LANES beyond a row)
  function carries(row : boolean) return boolean is
    variable b : natural;
  begin
    for r in 0 to OUT_H - 1 loop
      b := BASE0 + r * ROW_STEP;
      if row and r < OUT_H - 1 and b mod IN_LANES + ROW_STEP mod IN_LANES >= IN_LANES then
        return true;
      end if;
      for c in 0 to OUT_W - 2 loop
        if not row and (b + c * COL_STEP) mod IN_LANES + COL_STEP mod IN_LANES >= IN_LANES then
          return true;
        end if;
      end loop;
    end loop;
    return false;
  end function;
  constant COL_CARRY : boolean := carries(false);
  constant ROW_CARRY : boolean := carries(true);

  subtype row_t is natural range 0 to ROW_MAX;
  subtype col_t is natural range 0 to COL_MAX;
  subtype bw_t is natural range 0 to BW_MAX;
  subtype sel_t is natural range 0 to IN_LANES - 1;
  subtype word_t is natural range 0 to NW - 1;

  -- what lane l of beat b of every window reads: element e = b*OUT_LANES + l of the window
  type entry_t is record
    kh   : natural range 0 to K_H - 1;            -- kernel row of e
    kw   : natural range 0 to K_W - 1;            -- kernel column of e
    ow   : natural range 0 to OW_MAX;             -- address offset / IN_LANES
    os   : sel_t;                                 -- address offset mod IN_LANES
    used : boolean;                               -- e < KC
  end record;
  type entries_t is array (0 to OUT_LANES - 1) of entry_t;

  -- the entry of window element e
  function entry_of(e : natural) return entry_t is
    variable kh, kw, off : natural;
  begin
    if e >= KC then
      return (kh => 0, kw => 0, ow => 0, os => 0, used => false);
    end if;
    kh := e / (K_W * C);
    kw := (e / C) mod K_W;
    off := (kh * DIL_H * IN_W + kw * DIL_W) * C + e mod C;
    return (kh => kh, kw => kw, ow => off / IN_LANES, os => off mod IN_LANES, used => true);
  end function;

  -- GHDL 2.0's synthesis turns a small table whose lowest 32 bits (its last entries) are
  -- all zero into a constant of zeros. Where a field of the last entry (lane OUT_LANES - 1
  -- of beat NB - 1) that has bits is zero, the table gets a beat NB that is never read and
  -- whose fields are not zero.
  function last_entry_nonzero return boolean is
    constant E : entry_t := entry_of(NB * OUT_LANES - 1);
  begin
    return E.used and (K_H = 1 or E.kh /= 0) and (K_W = 1 or E.kw /= 0)
      and (OW_MAX = 0 or E.ow /= 0) and (IN_LANES = 1 or E.os /= 0);
  end function;
  constant SENTINEL : natural := boolean'pos(not last_entry_nonzero);
  type table_t is array (0 to NB - 1 + SENTINEL) of entries_t;

  function build_table return table_t is
    variable t : table_t;
  begin
    for b in 0 to NB - 1 loop
      for l in 0 to OUT_LANES - 1 loop
        t(b)(l) := entry_of(b * OUT_LANES + l);
      end loop;
    end loop;
    for b in NB to NB - 1 + SENTINEL loop
      for l in 0 to OUT_LANES - 1 loop
        t(b)(l) := (kh => imin(1, K_H - 1), kw => imin(1, K_W - 1), ow => imin(1, OW_MAX),
                    os => imin(1, IN_LANES - 1), used => true);
      end loop;
    end loop;
    return t;
  end function;

  -- pos + off outside lo .. lo + size - 1, as comparisons of pos (>= 0) with constants
  -- (no adder; constant when pos is)
  function outside(pos : natural; off, lo : integer; size : positive) return boolean is
    variable r : boolean := false;
  begin
    if lo > off then
      r := pos < lo - off;
    end if;
    if lo + size <= off then
      r := true;
    else
      r := r or pos >= lo + size - off;
    end if;
    return r;
  end function;

  -- outside(pos, k*dil, lo, size) for k in 0 .. n - 1 (pos a constant: the reset values)
  function pads(pos : natural; n, dil : positive; lo : natural; size : positive)
    return boolean_vector is
    variable r : boolean_vector(0 to n - 1);
  begin
    for k in 0 to n - 1 loop
      r(k) := outside(pos, k * dil, lo, size);
    end loop;
    return r;
  end function;

  -- floor(a / b) for any sign of a (VHDL's "/" truncates)
  function floor_div(a : integer; b : positive) return integer is
  begin
    if a >= 0 then
      return a / b;
    end if;
    return -((b - 1 - a) / b);
  end function;

  -- ring mode: the smallest MEM_WORDS that cannot deadlock (the header's formula)
  function ring_minimum return natural is
    variable best, lo, hi, top, left : integer;
  begin
    if not RING then
      return 0;
    end if;
    best := 1;
    for oh in 0 to OUT_H - 1 loop
      top := oh * STRIDE_H - PAD_T;
      for ow in 0 to OUT_W - 1 loop
        left := ow * STRIDE_W - PAD_L;
        lo := floor_div((top * IN_W + left) * C, IN_LANES);
        if ROW_MIN and oh /= OUT_H - 1 then
          lo := imin(lo, floor_div((top * IN_W - PAD_L) * C, IN_LANES) + RS_W);
        end if;
        lo := imin(lo, NW);
        -- the highest word read: the last in-bounds row and column, the last channel
        hi := -1;
        for kh in K_H - 1 downto 0 loop
          for kw in K_W - 1 downto 0 loop
            if hi < 0 and top + kh * DIL_H >= 0 and top + kh * DIL_H < IN_H
               and left + kw * DIL_W >= 0 and left + kw * DIL_W < IN_W then
              hi := (((top + kh * DIL_H) * IN_W + left + kw * DIL_W) * C + C - 1) / IN_LANES;
            end if;
          end loop;
        end loop;
        best := imax(best, imax(hi, 0) - lo + 1);
        if oh = OUT_H - 1 and ow = OUT_W - 1 then
          best := imax(best, NW - lo);
        end if;
      end loop;
    end loop;
    return best;
  end function;

  constant TAB  : table_t := build_table;
  constant MIN_WORDS : natural := ring_minimum;
  constant PADV : std_logic_vector(X_WIDTH - 1 downto 0) := PAD_VALUE;

  subtype lword_t is std_logic_vector(IN_LANES * X_WIDTH - 1 downto 0);
  type mem_t is array (0 to 2 * NW - 1) of lword_t;
  type lwords_t is array (0 to RL - 1) of lword_t;
  type words_t is array (0 to OUT_LANES - 1) of word_t;
  type sels_t is array (0 to OUT_LANES - 1) of sel_t;
  subtype flags_t is std_logic_vector(0 to OUT_LANES - 1);

  -- beat sequencer state: beat-in-window, window position, padding rows / columns of the
  -- window (rpad(kh): srow + kh*DIL_H outside the input's rows, cpad(kw): scol + kw*DIL_W
  -- outside its columns; they change with srow and scol, whose next values are known (0
  -- or a step on), so they are comparisons of srow, scol with constants, and the address
  -- computation only selects them by (sb, lane)), the running base address of the window
  -- and of its row's first window, and row_q = row_w + RS_W (ring, ROW_MIN: R(oh) of the
  -- header, a term of LOW)
  type seq_t is record
    sb     : natural range 0 to NB - 1;
    srow   : row_t;
    scol   : col_t;
    sbank  : natural range 0 to 1;
    rpad   : boolean_vector(0 to K_H - 1);
    cpad   : boolean_vector(0 to K_W - 1);
    base_w : bw_t;
    base_s : sel_t;
    row_w  : bw_t;
    row_q  : natural range 0 to BW_MAX + RS_W;
    row_s  : sel_t;
  end record;

  -- a beat's addresses, per lane: the word, the element in the word, padding (PAD_VALUE),
  -- beyond KC (0); the highest word a lane reads (hi) and whether any lane reads one (any);
  -- the bank, the sample's last and first beat, and in ring mode LOW of its window (the
  -- writer's limit is LOW + MEM_WORDS), biased like base_w.
  -- hi is the word of the last lane that reads: the lanes that read are elements of the
  -- input in increasing order (rows ih = top + kh*DIL_H, and within a row columns
  -- iw = left + kw*DIL_W, both in the input), so their words never decrease. So whether a
  -- beat's words are written is one comparison, not one a lane.
  type beat_t is record
    word  : words_t;
    sel   : sels_t;
    pad   : flags_t;
    zero  : flags_t;
    hi    : word_t;
    any   : std_logic;
    bank  : natural range 0 to 1;
    last  : std_logic;
    first : boolean;
    low   : natural range 0 to BW_MAX + RS_W;
  end record;

  constant SEQ0 : seq_t := (
    sb => 0, srow => 0, scol => 0, sbank => 0,
    rpad => pads(0, K_H, DIL_H, PAD_T, IN_H), cpad => pads(0, K_W, DIL_W, PAD_L, IN_W),
    base_w => BASE0 / IN_LANES, base_s => BASE0 mod IN_LANES,
    row_w => BASE0 / IN_LANES, row_q => BASE0 / IN_LANES + RS_W, row_s => BASE0 mod IN_LANES);

  constant EMPTY : beat_t := (
    word => (others => 0), sel => (others => 0), pad => (others => '0'),
    zero => (others => '0'), hi => 0, any => '0', bank => 0, last => '0', first => false,
    low => LOW0);

  -- the lanes of the beat the sequencer points at (everything but hi and any)
  function lanes_of(q : seq_t) return beat_t is
    variable b  : beat_t := EMPTY;
    variable s  : natural range 0 to 2 * IN_LANES - 2;
    variable w  : natural range 0 to W_MAX;
    variable e  : entry_t;
    variable lv : natural range 0 to BW_MAX + RS_W;
  begin
    b.bank := q.sbank;
    b.last := flag(q.sb = NB - 1 and q.srow = ROW_MAX and q.scol = COL_MAX);
    b.first := q.sb = 0 and q.srow = 0 and q.scol = 0;
    for l in 0 to OUT_LANES - 1 loop
      e := TAB(q.sb)(l);
      s := q.base_s + e.os;
      w := q.base_w + e.ow;
      if s >= IN_LANES then
        s := s - IN_LANES;
        w := w + 1;
      end if;
      if not e.used then
        b.zero(l) := '1';
      elsif q.rpad(e.kh) or q.cpad(e.kw) then
        b.pad(l) := '1';
      else
        b.word(l) := w - BIAS_W;
        b.sel(l) := s;
      end if;
    end loop;
    -- LOW of the window (the header), biased like base_w
    lv := q.base_w;
    if ROW_MIN and q.srow /= ROW_MAX and q.row_q < lv then
      lv := q.row_q;
    end if;
    if CLAMP and lv > LOW_TOP then
      lv := LOW_TOP;
    end if;
    b.low := lv;
    return b;
  end function;

  -- b with hi and any of its lanes, merged in a balanced tree (the upper lanes win)
  -- (its variables and step's take their first values in the body: GHDL 2.0's synthesis
  -- evaluated P0 = with_hi(...) with hi = 0 when they were initialised from the parameter
  -- in their declarations)
  function with_hi(b : beat_t) return beat_t is
    variable r    : beat_t;
    variable his  : words_t;
    variable anys : flags_t;
    variable st   : positive;
  begin
    r := b;
    his := b.word;
    anys := not (b.zero or b.pad);
    st := 1;
    for level in 0 to clog2(OUT_LANES) - 1 loop
      for l in 0 to OUT_LANES - 1 loop
        if l mod (2 * st) = 0 and l + st < OUT_LANES then
          if anys(l + st) = '1' then
            his(l) := his(l + st);
          end if;
          anys(l) := anys(l) or anys(l + st);
        end if;
      end loop;
      st := 2 * st;
    end loop;
    r.hi := his(0);
    r.any := anys(0);
    return r;
  end function;

  -- the sequencer's next beat, window, row, sample
  function step(q : seq_t) return seq_t is
    variable r : seq_t;
  begin
    r := q;
    if q.sb /= NB - 1 then
      r.sb := q.sb + 1;
    else
      r.sb := 0;
      if q.scol /= COL_MAX then
        r.scol := q.scol + STRIDE_W;
        for k in 0 to K_W - 1 loop
          r.cpad(k) := outside(q.scol, STRIDE_W + k * DIL_W, PAD_L, IN_W);
        end loop;
        if COL_CARRY and q.base_s + COL_STEP mod IN_LANES >= IN_LANES then
          r.base_s := q.base_s + COL_STEP mod IN_LANES - IN_LANES;
          r.base_w := q.base_w + COL_STEP / IN_LANES + 1;
        else
          r.base_s := q.base_s + COL_STEP mod IN_LANES;
          r.base_w := q.base_w + COL_STEP / IN_LANES;
        end if;
      else
        r.scol := 0;
        r.cpad := pads(0, K_W, DIL_W, PAD_L, IN_W);
        if q.srow /= ROW_MAX then
          r.srow := q.srow + STRIDE_H;
          for k in 0 to K_H - 1 loop
            r.rpad(k) := outside(q.srow, STRIDE_H + k * DIL_H, PAD_T, IN_H);
          end loop;
          if ROW_CARRY and q.row_s + ROW_STEP mod IN_LANES >= IN_LANES then
            r.row_s := q.row_s + ROW_STEP mod IN_LANES - IN_LANES;
            r.row_w := q.row_w + ROW_STEP / IN_LANES + 1;
            r.row_q := q.row_q + ROW_STEP / IN_LANES + 1;
          else
            r.row_s := q.row_s + ROW_STEP mod IN_LANES;
            r.row_w := q.row_w + ROW_STEP / IN_LANES;
            r.row_q := q.row_q + ROW_STEP / IN_LANES;
          end if;
          r.base_s := r.row_s;
          r.base_w := r.row_w;
        else
          r := SEQ0;
          r.sbank := 1 - q.sbank;
        end if;
      end if;
    end if;
    return r;
  end function;

  -- whether beat b may issue with w + d of its sample's words written (d = 0 or 1, a
  -- constant: w + d is no adder), w the writer's count (ring: WREL); ring: every word
  -- written, or b is not the sample's last beat, at least word 0 is written and every word
  -- its lanes read; double buffer: from the last two conditions (the caller checks bank
  -- and filled)
  function words_ok(b : beat_t; w : integer; d : natural) return std_logic is
    variable late : std_logic;
    variable r    : std_logic := '0';
  begin
    if d = 0 then
      late := b.any and flag(le(w, b.hi));
    else
      late := b.any and flag(lt(w, b.hi));
    end if;
    if RING and le(NW - d, w) then
      r := '1';
    elsif b.last = '0' and lt(-d, w) then
      r := not late;
    end if;
    return r;
  end function;

  constant P0   : beat_t := with_hi(lanes_of(SEQ0));
  constant SEQ1 : seq_t := step(SEQ0);
  constant L1   : beat_t := lanes_of(SEQ1);
  constant SEQ2 : seq_t := step(SEQ1);

  -- writer
  signal wb      : natural range 0 to 1 := 0;
  signal widx    : word_t := 0;
  signal filled  : std_logic_vector(0 to 1) := "00";
  signal s_ready : std_logic;
  signal wr_en   : std_logic;
  -- ring writer: ring address, words of the address-stage beat's sample written (WREL)
  signal waddr   : unsigned(PB - 1 downto 0) := (others => '0');
  signal wrel    : natural range 0 to LIM_MAX := 0;
  -- ring: s_ready as a register (s_axis_tready feeds the producer's ready logic, often
  -- combinationally, so it should not come out of a comparison's carry chain), WREL <
  -- LOW + MEM_WORDS of the next cycle computed a cycle ahead (ctrl_proc) from
  -- WQ = WREL + 1 + BIAS_W - M, kept like WREL
  signal wq        : integer range WQ_MIN to WQ_MAX := WQ_MIN;
  signal s_ready_q : std_logic := flag(0 < LOW0 + M - BIAS_W);

  -- beat sequencer (two beats after the one in the prefetch stage), and the lanes' words of
  -- the beat after the prefetch stage's (their adders a stage before the tree that picks hi)
  signal q : seq_t := SEQ2;
  signal r : beat_t := L1;

  -- prefetch stage: the beat after the one in the address stage (always valid), so that
  -- whether the address stage's next beat may issue is a comparison of registers
  signal p : beat_t := P0;

  -- address stage; avail: its beat may issue (a register, computed a cycle ahead in
  -- ctrl_proc for each value of the late load_a and wr_en, which only select)
  signal a_v    : std_logic := '0';
  signal a      : beat_t := EMPTY;
  signal avail  : std_logic := '0';
  -- ring: WREL - NW (WREL of the next sample, for a load across a sample boundary), the
  -- ring address of the sample's word 0
  signal wm     : integer range -NW to LIM_MAX - NW := -NW;
  signal a_samp : unsigned(PB - 1 downto 0) := (others => '0');
  signal ce     : std_logic;
  signal issue  : std_logic;
  signal load_a : std_logic;

  -- RAM read stage
  signal rd1   : lwords_t := (others => (others => '0'));
  signal sel1  : sels_t := (others => 0);
  signal pad1  : flags_t := (others => '0');
  signal zero1 : flags_t := (others => '0');
  signal v1    : std_logic := '0';
  signal last1 : std_logic := '0';

  -- output register
  signal m_data  : std_logic_vector(OUT_LANES * X_WIDTH - 1 downto 0) := (others => '0');
  signal m_valid : std_logic := '0';
  signal m_last  : std_logic := '0';
begin
  assert PAD_VALUE'length = X_WIDTH
    report "ec_window: PAD_VALUE must have X_WIDTH bits" severity failure;

  assert MEM_WORDS = 0 or MEM_WORDS >= MIN_WORDS
    report "ec_window: MEM_WORDS = " & integer'image(MEM_WORDS) & " can deadlock, needs >= "
      & integer'image(MIN_WORDS) severity failure;

  s_ready <= not filled(wb) when not RING else s_ready_q;
  s_axis_tready <= s_ready;
  wr_en <= s_axis_tvalid and s_ready;

  ce <= m_axis_tready or not m_valid;
  issue <= ce and a_v and avail;
  load_a <= issue or not a_v;

  m_axis_tdata <= m_data;
  m_axis_tvalid <= m_valid;
  m_axis_tlast <= m_last;

  -- sample memory: one copy per reading lane, one write and one synchronous read port each
  bank_gen : if not RING generate
    mem_gen : for l in 0 to RL - 1 generate
      signal mem : mem_t;
    begin
      mem_proc : process (clk)
      begin
        if rising_edge(clk) then
          if wr_en = '1' then
            mem(2 * widx + wb) <= s_axis_tdata;
          end if;
          if issue = '1' then
            rd1(l) <= mem(2 * a.word(l) + a.bank);
          end if;
        end if;
      end process;
    end generate;
  end generate;

  ring_gen : if RING generate
    type ring_t is array (0 to 2 ** PB - 1) of lword_t;  -- P words
    constant NWB : positive := index_width(NW);
  begin
    mem_gen : for l in 0 to RL - 1 generate
      signal mem : ring_t;
    begin
      mem_proc : process (clk)
      begin
        if rising_edge(clk) then
          if wr_en = '1' then
            mem(to_integer(waddr)) <= s_axis_tdata;
          end if;
          if issue = '1' then
            -- ring address of word a.word of the beat's sample
            rd1(l) <= mem(to_integer(a_samp + resize(to_unsigned(a.word(l), NWB), PB)));
          end if;
        end if;
      end process;
    end generate;
  end generate;

  -- writer bookkeeping, beat sequencer, prefetch and address stage
  ctrl_proc : process (clk)
    variable wn : natural range 0 to LIM_MAX;
    variable ns : boolean;
    variable wv : integer range WQ_MIN - NW to WQ_MAX + 1;
    variable mv : integer range -2 * NW to LIM_MAX - NW + 1;
    variable rk, rn, rs : boolean_vector(0 to 1);
    variable b  : beat_t;
    variable fl : std_logic_vector(0 to 1);
    variable wbn : natural range 0 to 1;
    variable nav : std_logic_vector(0 to 3);  -- avail of the next cycle, by (load_a, wr_en)
  begin
    if rising_edge(clk) then
      -- ns: on a load the address stage moves on to the next sample (it holds the sample's
      -- last beat, the prefetch stage the next sample's first, whose LOW is LOW0)
      ns := a_v = '1' and p.first;

      -- avail of the next cycle for each load_a (the address stage keeps its beat or takes
      -- the prefetch stage's) and wr_en (a word more written): registers and constants
      -- only, the late load_a and wr_en select
      for ld in 0 to 1 loop
        if ld = 1 then
          b := p;
        else
          b := a;
        end if;
        for d in 0 to 1 loop
          if RING then
            if ld = 1 and ns then
              nav(2 * ld + d) := words_ok(b, wm, d);  -- WREL drops by NW
            else
              nav(2 * ld + d) := words_ok(b, wrel, d);
            end if;
          else
            -- the bank's word count, bank and filled flags of the next cycle; a load with
            -- a_v = '1' is an issue, which releases the bank after the sample's last beat
            fl := filled;
            wbn := wb;
            if ld = 1 and a_v = '1' and a.last = '1' then
              fl(a.bank) := '0';
            end if;
            if d = 1 and widx = NW - 1 then
              fl(wb) := '1';
              wbn := 1 - wb;
            end if;
            if fl(b.bank) = '1' then
              nav(2 * ld + d) := '1';
            elsif wbn = b.bank and (d = 0 or widx /= NW - 1) then
              nav(2 * ld + d) := words_ok(b, widx, d);
            else
              nav(2 * ld + d) := '0';
            end if;
          end if;
        end loop;
      end loop;
      if load_a = '1' then
        if wr_en = '1' then
          avail <= nav(3);
        else
          avail <= nav(2);
        end if;
      elsif wr_en = '1' then
        avail <= nav(1);
      else
        avail <= nav(0);
      end if;

      if RING then
        -- s_ready of the next cycle: wn + BIAS_W - M < LOW of the next cycle (WREL <
        -- LOW + MEM_WORDS, both biased), wn = WREL + d, d = 1 on wr_en. With WQ that is
        -- WQ <= LOW for d = 0 and WQ < LOW for d = 1: a comparison of two registers or
        -- a register and a constant per d; the late load_a and wr_en (from
        -- m_axis_tready, s_axis_tvalid) only select. load_a = '0': LOW kept (rk); else
        -- LOW of the prefetch stage's window (rn) or, for the next sample's first beat,
        -- LOW0 with wn dropping by NW (rs)
        rk := (le(wq, a.low), lt(wq, a.low));
        rn := (le(wq, p.low), lt(wq, p.low));
        rs := (le(wq, LOW0 + NW), lt(wq, LOW0 + NW));
        if load_a = '1' then
          if ns then
            rk := rs;
          else
            rk := rn;
          end if;
        end if;
        if wr_en = '1' then
          s_ready_q <= flag(rk(1));
        else
          s_ready_q <= flag(rk(0));
        end if;

        wn := wrel;
        wv := wq;  -- as wn (not wn plus a constant: no adder after wn's)
        mv := wm;  -- likewise
        if wr_en = '1' then
          wn := wn + 1;
          wv := wv + 1;
          mv := mv + 1;
          waddr <= waddr + 1;
        end if;
        if load_a = '1' and ns then
          -- the address stage moves on to the next sample (its last beat saw wrel >= NW)
          wn := wn - NW;
          wv := wv - NW;
          mv := mv - NW;
          a_samp <= a_samp + to_unsigned(NW mod 2 ** PB, PB);
        end if;
        wrel <= wn;
        wq <= wv;
        wm <= mv;
      else
        if wr_en = '1' then
          if widx = NW - 1 then
            widx <= 0;
            filled(wb) <= '1';
            wb <= 1 - wb;
          else
            widx <= widx + 1;
          end if;
        end if;
        if issue = '1' and a.last = '1' then
          filled(a.bank) <= '0';  -- wr_en never completes this bank in the same cycle
        end if;
      end if;

      if load_a = '1' then
        a_v <= '1';
        a <= p;
        p <= with_hi(r);
        r <= lanes_of(q);
        q <= step(q);
      end if;

      if rst = '1' then
        wb <= 0;
        widx <= 0;
        filled <= "00";
        q <= SEQ2;
        r <= L1;
        p <= P0;
        waddr <= (others => '0');
        wrel <= 0;
        wq <= WQ_MIN;
        wm <= -NW;
        s_ready_q <= flag(0 < LOW0 + M - BIAS_W);
        a.low <= LOW0;
        a.last <= '0';
        a.bank <= 0;
        a_samp <= (others => '0');
        a_v <= '0';
        avail <= '0';
      end if;
    end if;
  end process;

  -- RAM read stage flags, then the output register
  out_proc : process (clk)
    variable x : std_logic_vector(X_WIDTH - 1 downto 0);
  begin
    if rising_edge(clk) then
      if ce = '1' then
        v1 <= a_v and avail;
        last1 <= a.last;
        sel1 <= a.sel;
        pad1 <= a.pad;
        zero1 <= a.zero;
        if v1 = '1' then
          m_last <= last1;
          for l in 0 to OUT_LANES - 1 loop
            x := (others => '0');
            if l < RL and zero1(l) = '0' then
              if pad1(l) = '1' then
                x := PADV;
              else
                for k in 0 to IN_LANES - 1 loop
                  if sel1(l) = k then
                    x := rd1(imin(l, RL - 1))(k * X_WIDTH + X_WIDTH - 1 downto k * X_WIDTH);
                  end if;
                end loop;
              end if;
            end if;
            m_data(l * X_WIDTH + X_WIDTH - 1 downto l * X_WIDTH) <= x;
          end loop;
        end if;
        m_valid <= v1;
      end if;
      if rst = '1' then
        v1 <= '0';
        last1 <= '0';
        m_valid <= '0';
        m_last <= '0';
        m_data <= (others => '0');
      end if;
    end if;
  end process;
end architecture rtl;

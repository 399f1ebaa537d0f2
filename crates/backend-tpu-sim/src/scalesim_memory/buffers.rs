//! SCALE-Sim 3.0's double-buffered scratchpads with a user-set DRAM bandwidth: the read buffers
//! (ifmap, filter) and the write buffer (ofmap), with its accounting reproduced exactly, quirks
//! included (see `docs/tpu-sim.md`, "SCALE-Sim's memory model").

/// A read SRAM: its prefetch order cut into `lines` of `ceil(words / 100)` addresses, an active
/// window of lines the array can hit, and a prefetch half that refills it from DRAM.
#[derive(Clone, Debug)]
pub struct ReadBuffer {
    /// DRAM words a cycle.
    bandwidth: u64,
    /// Words of the prefetch half.
    prefetch_words: u64,
    /// Lines the active window and the prefetch step span.
    active_lines: usize,
    prefetch_lines: usize,
    /// Lines in all.
    lines: usize,
    /// DRAM request lines of the first (active-half) fill.
    first_fill: u64,
    /// For each address, the lines holding it (`line_start[a]..line_start[a + 1]` in
    /// `line_ids`, rising).
    line_start: Vec<u32>,
    line_ids: Vec<u32>,
    /// The active window `[start, end)`, wrapping around when `start >= end`.
    start: usize,
    end: usize,
    /// The cycle the last prefetch completed (`None` before the first request).
    last_prefetch: Option<i64>,
    /// Words requested from DRAM.
    pub dram_reads: u64,
    /// The cycle the first DRAM word arrived.
    pub dram_start: i64,
}

impl ReadBuffer {
    /// A buffer of `words` words filled in `order` (addresses below `space`) over `bandwidth`
    /// words a cycle; `matrix_words` is the prefetch matrix's size with its padding.
    pub fn new(words: u64, bandwidth: u64, order: &[u32], space: usize, matrix_words: usize) -> ReadBuffer {
        let bandwidth = bandwidth.max(1);
        let active_words = words.div_ceil(2);
        let prefetch_words = words - active_words;
        let per_line = words.div_ceil(100).max(1) as usize;
        // A line closes after `per_line` addresses, so the last one may be empty.
        let lines = order.len() / per_line + 1;
        let max_active = active_words.div_ceil(per_line as u64) as usize;
        let max_prefetch = prefetch_words.div_ceil(per_line as u64) as usize;
        let active_lines = lines.min(max_active);
        let prefetch_lines = (lines - active_lines).min(max_prefetch);
        let mut line_start = vec![0u32; space + 1];
        let mut last_line = vec![u32::MAX; space];
        for (k, &a) in order.iter().enumerate() {
            let line = (k / per_line) as u32;
            if last_line[a as usize] != line {
                last_line[a as usize] = line;
                line_start[a as usize + 1] += 1;
            }
        }
        for a in 0..space {
            line_start[a + 1] += line_start[a];
        }
        let mut fill = line_start.clone();
        let mut line_ids = vec![0u32; line_start[space] as usize];
        last_line.fill(u32::MAX);
        for (k, &a) in order.iter().enumerate() {
            let line = (k / per_line) as u32;
            if last_line[a as usize] != line {
                last_line[a as usize] = line;
                line_ids[fill[a as usize] as usize] = line;
                fill[a as usize] += 1;
            }
        }
        let fetch_rows = (matrix_words as u64).div_ceil(bandwidth);
        ReadBuffer {
            bandwidth,
            prefetch_words,
            active_lines,
            prefetch_lines,
            lines,
            first_fill: active_words.div_ceil(bandwidth).min(fetch_rows),
            line_start,
            line_ids,
            start: 0,
            end: active_lines,
            last_prefetch: None,
            dram_reads: 0,
            dram_start: 0,
        }
    }

    fn active(&self, line: usize) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&line)
        } else {
            line >= self.start || line < self.end
        }
    }

    fn hit(&self, addr: u32) -> bool {
        let (lo, hi) = (self.line_start[addr as usize] as usize, self.line_start[addr as usize + 1] as usize);
        self.line_ids[lo..hi].iter().any(|&l| self.active(l as usize))
    }

    /// Serves one cycle's reads requested at `cycle`: the offset (at least the one-cycle hit
    /// latency unless a refill came early) at which the last of them is served.
    pub fn serve(&mut self, cycle: i64, addrs: &[u32]) -> i64 {
        let last = match self.last_prefetch {
            Some(last) => last,
            None => {
                // The active half arrives before the first request: DRAM lines at cycles
                // `cycle - n .. cycle - 1`, each served one cycle later.
                self.dram_reads += self.first_fill * self.bandwidth;
                self.dram_start = cycle - self.first_fill as i64;
                cycle - 1
            }
        };
        self.last_prefetch = Some(last);
        let mut offset = 1;
        for &addr in addrs {
            while !self.hit(addr) {
                if self.prefetch_lines == 0 {
                    // Everything is resident; an address outside the prefetch order never hits.
                    break;
                }
                let wait = self.refill() - (cycle + offset);
                // SCALE-Sim adds the wait once, and a positive wait once more.
                offset += if wait > 0 { 2 * wait } else { wait };
            }
        }
        offset
    }

    /// Moves the window on by one prefetch half and fetches the next half: `ceil(half / bw)`
    /// DRAM lines issued one a cycle after the last refill, each served a cycle later. Returns
    /// the cycle the refill completes.
    fn refill(&mut self) -> i64 {
        self.start = (self.start + self.prefetch_lines) % self.lines;
        self.end = (self.start + self.active_lines) % self.lines;
        let requests = self.prefetch_words.div_ceil(self.bandwidth);
        self.dram_reads += requests * self.bandwidth;
        let done = self.last_prefetch.unwrap_or(-1) + requests as i64 + 1;
        self.last_prefetch = Some(done);
        done
    }
}

/// The ofmap SRAM: writes gather into DRAM lines of `bandwidth` words; once more than the drain
/// half is occupied, the oldest half-buffer of lines drains to DRAM, one line a cycle, and a
/// write that finds the buffer full waits for the drain in progress.
#[derive(Clone, Debug)]
pub struct WriteBuffer {
    bandwidth: u64,
    active_words: i64,
    drain_words: u64,
    free: i64,
    drain_end: i64,
    /// Real words in each closed line, oldest first; `drained` lines have gone.
    closed: Vec<u32>,
    drained: usize,
    /// Words in the line being filled.
    open: u64,
    /// Words written to DRAM.
    pub dram_writes: u64,
    /// The cycle the last DRAM write was issued.
    pub dram_stop: i64,
}

impl WriteBuffer {
    /// A buffer of `words` words over `bandwidth` words a cycle.
    pub fn new(words: u64, bandwidth: u64) -> WriteBuffer {
        let active = words.div_ceil(2);
        WriteBuffer {
            bandwidth: bandwidth.max(1),
            active_words: active as i64,
            drain_words: words - active,
            free: words as i64,
            drain_end: 0,
            closed: Vec::new(),
            drained: 0,
            open: 0,
            dram_writes: 0,
            dram_stop: 0,
        }
    }

    /// Takes `count` writes at `cycle`; returns the cycle the last of them is accepted.
    pub fn serve(&mut self, cycle: i64, count: usize) -> i64 {
        let mut current = cycle;
        for _ in 0..count {
            self.open += 1;
            self.free -= 1;
            if self.open == self.bandwidth {
                self.closed.push(self.open as u32);
                self.open = 0;
            }
            if current < self.drain_end {
                if self.free <= 0 {
                    current = self.drain_end;
                }
            } else if self.free < self.active_words {
                self.close_open_line();
                self.drain_end = self.drain(current);
            }
        }
        current
    }

    fn close_open_line(&mut self) {
        if self.open > 0 {
            self.closed.push(self.open as u32);
            self.open = 0;
        }
    }

    /// Drains up to a half-buffer of lines starting at `cycle`; returns the last line's cycle.
    /// SCALE-Sim counts whole lines but the padding of the last one only.
    fn drain(&mut self, cycle: i64) -> i64 {
        let lines = self.drain_words.div_ceil(self.bandwidth) as usize;
        let end = (self.drained + lines).min(self.closed.len());
        let n = end - self.drained;
        if n == 0 {
            return cycle - 1;
        }
        let words = n as u64 * self.bandwidth - (self.bandwidth - self.closed[end - 1] as u64);
        self.dram_writes += words;
        self.free += words as i64;
        self.drained = end;
        let last = cycle + n as i64 - 1;
        self.dram_stop = self.dram_stop.max(last);
        last
    }

    /// Drains everything left, from `cycle` on, one drain after another.
    pub fn flush(&mut self, mut cycle: i64) {
        self.close_open_line();
        while self.drained < self.closed.len() {
            self.drain_end = self.drain(cycle);
            cycle = self.drain_end + 1;
        }
    }
}

/// A read SRAM in SCALE-Sim's CALC mode (`read_buffer_estimate_bw.py`): it never stalls, but
/// records what it would have fetched. Requested addresses gather into sets of `⌊Z / 100⌋`
/// distinct addresses; an address hits when a completed set at or after the window's start holds
/// it. When 50 sets beyond the window's start are complete, 50 sets' worth of words is fetched
/// (the first time at `bandwidth` words a cycle, ending the cycle before the first request;
/// later over the cycles since the previous fetch) and the window moves on by 50 sets.
#[derive(Clone, Debug)]
pub struct EstimateBuffer {
    bandwidth: u64,
    per_set: u64,
    /// For each address, the last set it was added to (`u32::MAX`: none). Sets before
    /// `open_id` are complete, and the latest is the one that decides a hit.
    last_set: Vec<u32>,
    open_id: u32,
    open_len: u64,
    window_start: u32,
    window_end: u32,
    prefetch_start: u32,
    first_request: Option<i64>,
    active_done: bool,
    /// The last fetch's first and last issue cycles.
    fetch_start: i64,
    fetch_end: i64,
    /// Words fetched from DRAM.
    pub dram_reads: u64,
    /// The cycles the first and the last DRAM words arrived.
    pub dram_start: Option<i64>,
    dram_stop: i64,
}

/// Sets in each half of the CALC-mode buffer.
const HALF_SETS: u32 = 50;

impl EstimateBuffer {
    /// A buffer of `words` words for addresses below `space`, first filled at `bandwidth` words
    /// a cycle.
    pub fn new(words: u64, bandwidth: u64, space: usize) -> EstimateBuffer {
        EstimateBuffer {
            bandwidth: bandwidth.max(1),
            per_set: words / 100,
            last_set: vec![u32::MAX; space],
            open_id: 0,
            open_len: 0,
            window_start: 0,
            window_end: HALF_SETS - 1,
            prefetch_start: 0,
            first_request: None,
            active_done: false,
            fetch_start: -2,
            fetch_end: -1,
            dram_reads: 0,
            dram_start: None,
            dram_stop: 0,
        }
    }

    /// Takes one cycle's reads at `cycle` (always served a cycle later).
    pub fn serve(&mut self, cycle: i64, addrs: &[u32]) {
        if self.first_request.is_none() && !addrs.is_empty() {
            self.first_request = Some(cycle);
        }
        for &a in addrs {
            let last = self.last_set[a as usize];
            // In the open set, or a hit in a completed set of the window: nothing to do.
            if last == self.open_id || (last != u32::MAX && last >= self.window_start) {
                continue;
            }
            self.last_set[a as usize] = self.open_id;
            self.open_len += 1;
            if self.open_len == self.per_set {
                self.open_id += 1;
                self.open_len = 0;
                if self.open_id == self.window_end + 1 {
                    self.window_full(cycle);
                }
            }
        }
    }

    fn window_full(&mut self, cycle: i64) {
        let words = HALF_SETS as u64 * self.per_set;
        if !self.active_done {
            self.fetch_end = self.first_request.unwrap_or(cycle) - 2;
            self.fetch_start = self.fetch_end - words.div_ceil(self.bandwidth) as i64 + 1;
            self.fetch(words);
            self.prefetch_start = self.window_end + 1;
            self.active_done = true;
        } else {
            self.fetch(words);
            self.prefetch_start += HALF_SETS;
        }
        self.window_start += HALF_SETS;
        self.window_end += HALF_SETS;
        self.fetch_start = self.fetch_end + 1;
        self.fetch_end = cycle;
    }

    /// Fetches `words` words over the cycles `fetch_start..=fetch_end`, each line served a
    /// cycle after it is issued.
    fn fetch(&mut self, words: u64) {
        self.dram_reads += words;
        self.dram_start.get_or_insert(self.fetch_start + 1);
        self.dram_stop = self.fetch_end + 1;
    }

    /// After the last cycle: fetches what is left (all of it, if the window never filled).
    pub fn finish(&mut self) {
        let open = self.open_len;
        let sets = if open > 0 { self.open_id as i64 + 1 } else { self.open_id as i64 };
        if !self.active_done {
            let words = (sets.max(0) as u64 - (open > 0) as u64) * self.per_set + open;
            let lines = (sets.max(0) as u64 * self.per_set).div_ceil(self.bandwidth) as i64;
            self.fetch_end = -2;
            self.fetch_start = self.fetch_end - lines + 1;
            self.fetch(words);
        } else {
            let whole = (sets - self.prefetch_start as i64).max(0) as u64;
            let words = whole.saturating_sub((open > 0) as u64) * self.per_set + open;
            self.fetch(words);
        }
    }

    /// The cycle the first DRAM word arrived (0 if none did).
    pub fn first_arrival(&self) -> i64 {
        self.dram_start.unwrap_or(0)
    }
}

//! Inserts a call made with `State.insert` and has not sent to its host yet.
//!
//! One request per insert made inserting cost a round trip each (natively ~4 us once a
//! call runs on the pool, for an insert the host merely notes): 10k inserts took 2.7x what
//! n3 takes to add them. So inserts wait here and go to the host together, in front of the
//! call's next triples request, every `FLUSH_BYTES`, and when the chunk returns.
//!
//! Waiting must not move an insert's error away from its line: the host refuses an insert
//! past the call's write bounds (`maxWrites` triples, its memory limit in bytes), and a
//! script that catches that error goes on differently. So an insert waits only when the
//! host's bounds certainly take it. Every reply to a write tells what the host can still
//! take (`headroom`): writes, and bytes as the host counts them, 2 x (the UTF-16 lengths
//! of subject, predicate and lexical form) + 64. Here each waiting insert takes 1 write and
//! that size in UTF-8 bytes, never less than the host's (a UTF-8 byte per UTF-16 unit or
//! more; an insert of a triple the call has already inserted costs the host no bytes).
//! An insert that does not fit goes at once, in its own request, after those waiting, and
//! the host's own checks raise its error there. A call's first insert always goes at once
//! (nothing is known of the host's bounds before).

use crate::wire::Writer;

/// Waiting inserts go to the host once their wire values take this many bytes.
const FLUSH_BYTES: usize = 64 << 10;

/// What the host counts for one insert (UTF-8 lengths: at least its UTF-16 ones).
pub(crate) fn insert_size(subject: &[u8], predicate: &[u8], lexical: &[u8]) -> u64 {
    2 * (subject.len() + predicate.len() + lexical.len()) as u64 + 64
}

/// Inserts waiting to be sent, and what the host can still take.
#[derive(Default)]
pub(crate) struct TripleWrites {
    /// Wire values, four per insert: subject, predicate, kind, lexical form.
    waiting: Writer,
    count: usize,
    writes_left: u64,
    bytes_left: u64,
}

impl TripleWrites {
    /// Keeps an insert to send later if the host certainly takes it; false: send it now.
    pub fn wait(&mut self, subject: &[u8], predicate: &[u8], kind: i64, lexical: &[u8]) -> bool {
        let size = insert_size(subject, predicate, lexical);
        if self.writes_left == 0 || self.bytes_left < size {
            return false;
        }
        self.writes_left -= 1;
        self.bytes_left -= size;
        self.waiting
            .string(subject)
            .string(predicate)
            .integer(kind)
            .string(lexical);
        self.count += 1;
        true
    }

    /// Whether the waiting inserts should go now.
    pub fn full(&self) -> bool {
        self.waiting.len() >= FLUSH_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Starts a request with the waiting inserts in front (`"inserted", n, 4n values`) and
    /// `more` values after them, which the caller writes; none wait any longer.
    pub fn request(&mut self, more: usize) -> Writer {
        // (Room for a query's request, so that it is made with one allocation.)
        let mut args = Writer::with_capacity(64);
        if self.count == 0 {
            args.count(more);
            return args;
        }
        args.count(2 + 4 * self.count + more)
            .string(b"inserted")
            .integer(self.count as i64);
        args.append(std::mem::take(&mut self.waiting));
        self.count = 0;
        args
    }

    /// What the host said it can still take, in its reply to a write.
    pub fn set_headroom(&mut self, writes: u64, bytes: u64) {
        self.writes_left = writes;
        self.bytes_left = bytes;
    }
}

//! What a call knows of the long string mw.ustring last checked (ustring.rs), kept in the
//! call's state: a module that calls mw.ustring on one long string again and again (`find`
//! from each position, `sub` of each piece) checks it, counts it and decodes it once. Its
//! own file so that the call's state, below ustring.rs, can hold it.

/// The string (at ustring.rs's `ANCHOR` in the registry), by address and length.
#[derive(Clone, Copy, Default)]
pub(crate) struct Known {
    pub address: usize,
    pub len: usize,
    /// Its code points, once counted.
    pub chars: Option<usize>,
    pub ascii: bool,
    pub decoded: bool,
    /// How often it was checked.
    pub uses: u32,
}

impl Known {
    pub fn is(&self, text: &[u8]) -> bool {
        self.address == text.as_ptr() as usize && self.len == text.len() && self.len != 0
    }
}

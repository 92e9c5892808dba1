//! `table.concat`, `table.insert`, `table.remove`, `table.move` and `table.sort` as in
//! Lua 5.4's ltablib.c, but checking the time limit as they go.
//!
//! Lua's own loops run no VM instructions, so the count hook never fires in them, and their
//! length comes from the script, not from memory it had to allocate: `#t` of a sparse table
//! (`{1, [2] = 1, [4] = 1, ..., [2^40] = 1}` has length 2^40), a `__len` metamethod, or
//! `table.move`'s range. Moving nils, or elements that C functions give and take
//! (`__index = table.concat`), costs no memory either, so neither limit would end the call.
//!
//! Lua errors are C longjmps through these frames, so nothing here owns a value with a
//! destructor.

use std::ffi::{c_int, c_uint, CStr};

use mlua::ffi;

use crate::lua::Lua;

use crate::call_state::call_state;
use crate::interrupt::{check_before_c_call, raise_terminated, time_is_up};

/// What a table-like argument must support (Lua's TAB_R, TAB_W, TAB_L).
const READ: c_int = 1;
const WRITE: c_int = 2;
const LENGTH: c_int = 4;

/// Element steps (a move, a comparison, a concatenated field) between two looks at the clock.
const CHECK_EVERY: u32 = 1000;

/// Counts element steps and ends the call once its time is up.
struct Countdown {
    state: Lua,
    left: u32,
}

impl Countdown {
    fn new(state: Lua) -> Self {
        Countdown {
            state,
            left: CHECK_EVERY,
        }
    }

    #[inline]
    unsafe fn tick(&mut self) {
        self.left -= 1;
        if self.left == 0 {
            self.check();
        }
    }

    #[cold]
    unsafe fn check(&mut self) {
        self.left = CHECK_EVERY;
        if time_is_up(self.state) {
            raise_terminated(self.state, 1);
        }
    }
}

unsafe fn has_field(state: Lua, key: &CStr, n: c_int) -> bool {
    ffi::lua_pushstring(state, key.as_ptr());
    ffi::lua_rawget(state, -n) != ffi::LUA_TNIL
}

/// Lua's `checktab`: a table, or a value whose metatable has the metamethods `what` needs.
unsafe fn check_table(state: Lua, arg: c_int, what: c_int) {
    if ffi::lua_type(state, arg) == ffi::LUA_TTABLE {
        return;
    }
    let mut n = 1;
    let ok = ffi::lua_getmetatable(state, arg) != 0
        && (what & READ == 0 || {
            n += 1;
            has_field(state, c"__index", n)
        })
        && (what & WRITE == 0 || {
            n += 1;
            has_field(state, c"__newindex", n)
        })
        && (what & LENGTH == 0 || {
            n += 1;
            has_field(state, c"__len", n)
        });
    if ok {
        ffi::lua_pop(state, n);
    } else {
        ffi::luaL_checktype(state, arg, ffi::LUA_TTABLE);
    }
}

/// Lua's `aux_getn`: `#t`, metamethods included.
unsafe fn length(state: Lua, arg: c_int, what: c_int) -> ffi::lua_Integer {
    check_table(state, arg, what | LENGTH);
    ffi::luaL_len(state, arg)
}

unsafe fn arg_error(state: Lua, arg: c_int, message: &CStr) -> c_int {
    ffi::luaL_argerror(state, arg, message.as_ptr())
}

/// `table.concat(list [, sep [, i [, j]]])`
pub unsafe extern "C-unwind" fn concat(state: Lua) -> c_int {
    let mut last = length(state, 1, READ);
    let mut sep_len = 0;
    let sep = ffi::luaL_optlstring(state, 2, c"".as_ptr(), &mut sep_len);
    let mut i = ffi::luaL_optinteger(state, 3, 1);
    last = ffi::luaL_optinteger(state, 4, last);
    let mut countdown = Countdown::new(state);
    // Stays in this frame: Lua keeps a pointer to its inline storage.
    let mut buffer: ffi::luaL_Buffer = std::mem::zeroed();
    ffi::luaL_buffinit(state, &mut buffer);
    while i < last {
        add_field(state, &mut buffer, i);
        ffi::luaL_addlstring(&mut buffer, sep, sep_len);
        countdown.tick();
        i += 1;
    }
    if i == last {
        add_field(state, &mut buffer, i);
    }
    ffi::luaL_pushresult(&mut buffer);
    1
}

unsafe fn add_field(state: Lua, buffer: &mut ffi::luaL_Buffer, i: ffi::lua_Integer) {
    ffi::lua_geti(state, 1, i);
    if ffi::lua_isstring(state, -1) == 0 {
        ffi::luaL_error(
            state,
            c"invalid value (%s) at index %I in table for 'concat'".as_ptr(),
            ffi::luaL_typename(state, -1),
            i,
        );
    }
    if ffi::lua_type(state, -1) == ffi::LUA_TNUMBER
        && ffi::lua_isinteger(state, -1) == 0
        && crate::call_state::call_state(state).numbers51
    {
        // Floats as Lua 5.1 writes them (`mw`'s lua51Numbers), as `tostring` does.
        let mut digits = [0u8; 64];
        let text = crate::numbers::format_float(ffi::lua_tonumber(state, -1), &mut digits);
        ffi::lua_pop(state, 1);
        ffi::luaL_addlstring(buffer, text.as_ptr() as *const std::ffi::c_char, text.len());
        return;
    }
    ffi::luaL_addvalue(buffer);
}

/// `table.insert(list, [pos,] value)`
pub unsafe extern "C-unwind" fn insert(state: Lua) -> c_int {
    // First empty element (wraps as Lua's `luaL_intop` does).
    let end = length(state, 1, READ | WRITE).wrapping_add(1);
    let pos = match ffi::lua_gettop(state) {
        2 => end,
        3 => {
            let pos = ffi::luaL_checkinteger(state, 2);
            // pos in [1, end]
            if (pos as u64).wrapping_sub(1) >= end as u64 {
                arg_error(state, 2, c"position out of bounds");
            }
            let mut countdown = Countdown::new(state);
            let mut i = end;
            while i > pos {
                ffi::lua_geti(state, 1, i - 1);
                ffi::lua_seti(state, 1, i);
                countdown.tick();
                i -= 1;
            }
            pos
        }
        _ => return ffi::luaL_error(state, c"wrong number of arguments to 'insert'".as_ptr()),
    };
    ffi::lua_seti(state, 1, pos);
    0
}

/// `table.remove(list [, pos])`
pub unsafe extern "C-unwind" fn remove(state: Lua) -> c_int {
    let size = length(state, 1, READ | WRITE);
    let mut pos = ffi::luaL_optinteger(state, 2, size);
    // pos in [1, size + 1]
    if pos != size && (pos as u64).wrapping_sub(1) > size as u64 {
        arg_error(state, 2, c"position out of bounds");
    }
    ffi::lua_geti(state, 1, pos);
    let mut countdown = Countdown::new(state);
    while pos < size {
        ffi::lua_geti(state, 1, pos + 1);
        ffi::lua_seti(state, 1, pos);
        countdown.tick();
        pos += 1;
    }
    ffi::lua_pushnil(state);
    ffi::lua_seti(state, 1, pos);
    1
}

/// `table.move(a1, f, e, t [, a2])`
pub unsafe extern "C-unwind" fn move_elements(state: Lua) -> c_int {
    let f = ffi::luaL_checkinteger(state, 2);
    let e = ffi::luaL_checkinteger(state, 3);
    let t = ffi::luaL_checkinteger(state, 4);
    let dest = if ffi::lua_isnoneornil(state, 5) == 0 {
        5
    } else {
        1
    };
    check_table(state, 1, READ);
    check_table(state, dest, WRITE);
    if e >= f {
        // (`e < MAX + f` cannot overflow: it is only evaluated for f <= 0.)
        if !(f > 0 || e < ffi::lua_Integer::MAX + f) {
            arg_error(state, 3, c"too many elements to move");
        }
        let n = e - f + 1;
        if t > ffi::lua_Integer::MAX - n + 1 {
            arg_error(state, 4, c"destination wrap around");
        }
        let mut countdown = Countdown::new(state);
        if t > e || t <= f || (dest != 1 && ffi::lua_compare(state, 1, dest, ffi::LUA_OPEQ) == 0) {
            for i in 0..n {
                ffi::lua_geti(state, 1, f + i);
                ffi::lua_seti(state, dest, t + i);
                countdown.tick();
            }
        } else {
            for i in (0..n).rev() {
                ffi::lua_geti(state, 1, f + i);
                ffi::lua_seti(state, dest, t + i);
                countdown.tick();
            }
        }
    }
    ffi::lua_pushvalue(state, dest);
    1
}

/// Index type of the sort, unsigned as in Lua (`IdxT`): its arithmetic wraps on purpose.
type Idx = c_uint;

/// Arrays longer than this may get randomized pivots.
const RANDOM_LIMIT: Idx = 100;

/// `table.sort(list [, comp])`
pub unsafe extern "C-unwind" fn sort(state: Lua) -> c_int {
    let n = length(state, 1, READ | WRITE);
    if n > 1 {
        if n >= c_int::MAX as ffi::lua_Integer {
            arg_error(state, 1, c"array too big");
        }
        if ffi::lua_isnoneornil(state, 2) == 0 {
            ffi::luaL_checktype(state, 2, ffi::LUA_TFUNCTION);
        }
        ffi::lua_settop(state, 2);
        let mut sorter = Sorter {
            state,
            countdown: Countdown::new(state),
            c_comparator: ffi::lua_iscfunction(state, 2) != 0,
        };
        sorter.sort(1, n as Idx, 0);
    }
    0
}

struct Sorter {
    state: Lua,
    countdown: Countdown,
    /// A C function runs no instruction the count hook could stop, and one call can be long
    /// (`load` of a big chunk): see `check_before_c_call`.
    c_comparator: bool,
}

impl Sorter {
    unsafe fn get(&self, i: Idx) {
        ffi::lua_geti(self.state, 1, i as ffi::lua_Integer);
    }

    /// Pops two values into `t[i]` and `t[j]` (the top one into `t[i]`).
    unsafe fn set2(&self, i: Idx, j: Idx) {
        ffi::lua_seti(self.state, 1, i as ffi::lua_Integer);
        ffi::lua_seti(self.state, 1, j as ffi::lua_Integer);
    }

    /// Whether the value at `a` sorts before the one at `b` (both negative indices).
    unsafe fn less(&mut self, a: c_int, b: c_int) -> bool {
        self.countdown.tick();
        if self.c_comparator {
            check_before_c_call(self.state);
        }
        let state = self.state;
        if ffi::lua_isnil(state, 2) != 0 {
            return ffi::lua_compare(state, a, b, ffi::LUA_OPLT) != 0;
        }
        ffi::lua_pushvalue(state, 2);
        ffi::lua_pushvalue(state, a - 1);
        ffi::lua_pushvalue(state, b - 2);
        ffi::lua_call(state, 2, 1);
        let less = ffi::lua_toboolean(state, -1) != 0;
        ffi::lua_pop(state, 1);
        less
    }

    unsafe fn invalid_order(&self) {
        ffi::luaL_error(self.state, c"invalid order function for sorting".as_ptr());
    }

    /// Lua's `partition`: the pivot P is on top; a[lo] <= P == a[up - 1] <= a[up].
    unsafe fn partition(&mut self, lo: Idx, up: Idx) -> Idx {
        let mut i = lo;
        let mut j = up.wrapping_sub(1);
        loop {
            loop {
                i = i.wrapping_add(1);
                self.get(i);
                if !self.less(-1, -2) {
                    break;
                }
                if i == up.wrapping_sub(1) {
                    self.invalid_order();
                }
                ffi::lua_pop(self.state, 1);
            }
            loop {
                j = j.wrapping_sub(1);
                self.get(j);
                if !self.less(-3, -1) {
                    break;
                }
                if j < i {
                    self.invalid_order();
                }
                ffi::lua_pop(self.state, 1);
            }
            if j < i {
                ffi::lua_pop(self.state, 1);
                self.set2(up.wrapping_sub(1), i);
                return i;
            }
            self.set2(i, j);
        }
    }

    /// Lua's `auxsort`: quicksort of a[lo..=up], recursing into the smaller part.
    unsafe fn sort(&mut self, mut lo: Idx, mut up: Idx, mut rnd: c_uint) {
        while lo < up {
            self.get(lo);
            self.get(up);
            if self.less(-1, -2) {
                self.set2(lo, up);
            } else {
                ffi::lua_pop(self.state, 2);
            }
            if up - lo == 1 {
                return;
            }
            let mut p = if up - lo < RANDOM_LIMIT || rnd == 0 {
                lo.wrapping_add(up) / 2
            } else {
                // In the middle half of [lo, up], "randomized" by rnd.
                let r4 = (up - lo) / 4;
                rnd % (r4 * 2) + (lo + r4)
            };
            self.get(p);
            self.get(lo);
            if self.less(-2, -1) {
                self.set2(p, lo);
            } else {
                ffi::lua_pop(self.state, 1);
                self.get(up);
                if self.less(-1, -2) {
                    self.set2(p, up);
                } else {
                    ffi::lua_pop(self.state, 2);
                }
            }
            if up - lo == 2 {
                return;
            }
            self.get(p);
            ffi::lua_pushvalue(self.state, -1);
            self.get(up - 1);
            self.set2(p, up - 1);
            p = self.partition(lo, up);
            let n;
            if p.wrapping_sub(lo) < up.wrapping_sub(p) {
                self.sort(lo, p.wrapping_sub(1), rnd);
                n = p.wrapping_sub(lo);
                lo = p.wrapping_add(1);
            } else {
                self.sort(p.wrapping_add(1), up, rnd);
                n = up.wrapping_sub(p);
                up = p.wrapping_sub(1);
            }
            if up.wrapping_sub(lo) / 128 > n {
                rnd = self.random_pivot();
            }
        }
    }

    /// Lua mixes `clock()` and `time()`; the call's own clock serves as well.
    unsafe fn random_pivot(&self) -> c_uint {
        let bits = ((call_state(self.state).clock)() * 1000.0).to_bits();
        (bits ^ (bits >> 32)) as c_uint
    }
}

//! A tiny classic-BPF assembler: code is written with symbolic labels, and assembly resolves them,
//! turning any conditional jump whose target lies beyond the 8-bit `jt`/`jf` range into a short
//! jump to a `BPF_JA` trampoline (which has a 32-bit offset).

use libc::sock_filter;

/// Instruction classes and fields we use (linux/bpf_common.h).
pub(super) const BPF_LD: u16 = 0x00;
pub(super) const BPF_ALU: u16 = 0x04;
pub(super) const BPF_JMP: u16 = 0x05;
pub(super) const BPF_RET: u16 = 0x06;
pub(super) const BPF_W: u16 = 0x00;
pub(super) const BPF_ABS: u16 = 0x20;
pub(super) const BPF_AND: u16 = 0x50;
pub(super) const BPF_JA: u16 = 0x00;
pub(super) const BPF_JEQ: u16 = 0x10;
pub(super) const BPF_JGT: u16 = 0x20;
pub(super) const BPF_JGE: u16 = 0x30;
pub(super) const BPF_JSET: u16 = 0x40;
pub(super) const BPF_K: u16 = 0x00;

/// The kernel refuses longer programs.
pub const BPF_MAXINSNS: usize = 4096;

/// Largest `jt`/`jf` offset.
const SHORT_JUMP_MAX: usize = u8::MAX as usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Label(usize);

/// Conditional jump kinds (all compare the accumulator with a constant, unsigned).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cmp {
    Eq,
    Gt,
    Ge,
}

impl Cmp {
    fn code(self) -> u16 {
        BPF_JMP
            | BPF_K
            | match self {
                Cmp::Eq => BPF_JEQ,
                Cmp::Gt => BPF_JGT,
                Cmp::Ge => BPF_JGE,
            }
    }
}

#[derive(Clone, Debug)]
enum Item {
    /// Any non-jump instruction.
    Stmt {
        code: u16,
        k: u32,
    },
    Jump {
        cmp: Cmp,
        k: u32,
        jt: Label,
        jf: Label,
    },
    Place(Label),
}

/// Assembly failures; all are bugs in the code generator, not in the profile.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AsmError {
    #[error("BPF label {0} was never placed")]
    Unplaced(usize),
    #[error("BPF label {0} is placed before a jump to it (BPF only jumps forward)")]
    Backward(usize),
}

/// A program under construction.
#[derive(Default)]
pub(super) struct Asm {
    items: Vec<Item>,
    labels: usize,
}

impl Asm {
    pub(super) fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }

    pub(super) fn place(&mut self, label: Label) {
        self.items.push(Item::Place(label));
    }

    /// `A = *(u32 *)(seccomp_data + offset)`.
    pub(super) fn load(&mut self, offset: u32) {
        self.items.push(Item::Stmt {
            code: BPF_LD | BPF_W | BPF_ABS,
            k: offset,
        });
    }

    /// `A &= k`.
    pub(super) fn and(&mut self, k: u32) {
        self.items.push(Item::Stmt {
            code: BPF_ALU | BPF_AND | BPF_K,
            k,
        });
    }

    pub(super) fn ret(&mut self, k: u32) {
        self.items.push(Item::Stmt {
            code: BPF_RET | BPF_K,
            k,
        });
    }

    /// `if A <cmp> k goto jt else goto jf`.
    pub(super) fn jump(&mut self, cmp: Cmp, k: u32, jt: Label, jf: Label) {
        self.items.push(Item::Jump { cmp, k, jt, jf });
    }

    /// Assembles into kernel instructions. Conditional jumps that cannot reach their target get a
    /// trampoline right after them; since that pushes later code further away, sizes are
    /// recomputed until nothing changes (each side only ever grows from short to long, so this ends).
    pub(super) fn assemble(&self) -> Result<Vec<sock_filter>, AsmError> {
        // Per item: whether its jt / jf goes through a trampoline.
        let mut long = vec![(false, false); self.items.len()];
        loop {
            let (pos, labels) = self.layout(&long)?;
            let mut changed = false;
            for (i, item) in self.items.iter().enumerate() {
                if let Item::Jump { jt, jf, .. } = item {
                    let from = pos[i] + 1;
                    if !long[i].0 && distance(from, labels[jt.0], jt.0)? > SHORT_JUMP_MAX {
                        long[i].0 = true;
                        changed = true;
                    }
                    if !long[i].1 && distance(from, labels[jf.0], jf.0)? > SHORT_JUMP_MAX {
                        long[i].1 = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                return Ok(self.emit(&long, &pos, &labels));
            }
        }
    }

    /// Position of each item and of each label, given which jumps are long.
    fn layout(&self, long: &[(bool, bool)]) -> Result<(Vec<usize>, Vec<usize>), AsmError> {
        let mut pos = Vec::with_capacity(self.items.len());
        let mut labels = vec![usize::MAX; self.labels];
        let mut at = 0;
        for (i, item) in self.items.iter().enumerate() {
            pos.push(at);
            at += match item {
                Item::Stmt { .. } => 1,
                Item::Jump { .. } => 1 + usize::from(long[i].0) + usize::from(long[i].1),
                Item::Place(l) => {
                    labels[l.0] = at;
                    0
                }
            };
        }
        if let Some(l) = labels.iter().position(|&p| p == usize::MAX) {
            return Err(AsmError::Unplaced(l));
        }
        Ok((pos, labels))
    }

    fn emit(&self, long: &[(bool, bool)], pos: &[usize], labels: &[usize]) -> Vec<sock_filter> {
        let mut out = Vec::new();
        // Offsets were range-checked by `assemble`, so the narrowing casts below cannot truncate.
        for (i, item) in self.items.iter().enumerate() {
            match item {
                Item::Stmt { code, k } => out.push(insn(*code, 0, 0, *k)),
                Item::Jump { cmp, k, jt, jf } => {
                    let from = pos[i] + 1;
                    let (lt, lf) = long[i];
                    // Trampolines sit right after the jump: jt's first, then jf's.
                    let t_at = if lt { from } else { labels[jt.0] };
                    let f_at = if lf {
                        from + usize::from(lt)
                    } else {
                        labels[jf.0]
                    };
                    out.push(insn(
                        cmp.code(),
                        (t_at - from) as u8,
                        (f_at - from) as u8,
                        *k,
                    ));
                    for (is_long, target, at) in [(lt, jt, t_at), (lf, jf, f_at)] {
                        if is_long {
                            let off = labels[target.0] - at - 1;
                            out.push(insn(BPF_JMP | BPF_JA, 0, 0, off as u32));
                        }
                    }
                }
                Item::Place(_) => {}
            }
        }
        out
    }
}

fn distance(from: usize, to: usize, label: usize) -> Result<usize, AsmError> {
    to.checked_sub(from).ok_or(AsmError::Backward(label))
}

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_jumps_stay_single_instructions() {
        let mut a = Asm::default();
        let (t, f) = (a.label(), a.label());
        a.jump(Cmp::Eq, 7, t, f);
        a.place(f);
        a.ret(1);
        a.place(t);
        a.ret(2);
        let p = a.assemble().unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!((p[0].jt, p[0].jf, p[0].k), (1, 0, 7));
    }

    #[test]
    fn far_targets_get_trampolines() {
        let mut a = Asm::default();
        let (t, f) = (a.label(), a.label());
        a.jump(Cmp::Ge, 1, t, f);
        a.place(f);
        for _ in 0..300 {
            a.ret(0);
        }
        a.place(t);
        a.ret(9);
        let p = a.assemble().unwrap();
        assert_eq!(p.len(), 303);
        // jt -> trampoline right after; jf -> skip it.
        assert_eq!((p[0].jt, p[0].jf), (0, 1));
        assert_eq!(p[1].code, BPF_JMP | BPF_JA);
        assert_eq!(2 + p[1].k as usize, 302);
        assert_eq!(p[302].k, 9);
    }

    #[test]
    fn backward_and_unplaced_labels_are_errors() {
        let mut a = Asm::default();
        let l = a.label();
        a.place(l);
        a.jump(Cmp::Eq, 0, l, l);
        assert_eq!(a.assemble().unwrap_err(), AsmError::Backward(0));

        let mut a = Asm::default();
        let l = a.label();
        a.jump(Cmp::Eq, 0, l, l);
        assert_eq!(a.assemble().unwrap_err(), AsmError::Unplaced(0));
    }
}

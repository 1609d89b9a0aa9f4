//! Runs a seccomp BPF program on a `seccomp_data`, as the kernel would, without loading it:
//! for tests and for explaining what a filter does with a given syscall.

use libc::sock_filter;

use super::bpf::{
    BPF_ABS, BPF_ALU, BPF_AND, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K, BPF_LD,
    BPF_RET, BPF_W,
};

/// `struct seccomp_data`: what a seccomp filter sees of a syscall.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeccompData {
    pub nr: u32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

impl SeccompData {
    /// The kernel's in-memory layout (native byte order), which `BPF_LD|BPF_ABS` reads.
    fn bytes(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[0..4].copy_from_slice(&self.nr.to_ne_bytes());
        b[4..8].copy_from_slice(&self.arch.to_ne_bytes());
        b[8..16].copy_from_slice(&self.instruction_pointer.to_ne_bytes());
        for (i, arg) in self.args.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&arg.to_ne_bytes());
        }
        b
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SimulateError {
    #[error("instruction {pc}: opcode {code:#x} is not allowed in seccomp filters")]
    BadOpcode { pc: usize, code: u16 },
    #[error("instruction {pc}: load offset {offset} is outside seccomp_data or unaligned")]
    BadLoad { pc: usize, offset: u32 },
    #[error("instruction {pc}: jump leaves the program")]
    JumpOut { pc: usize },
    #[error("the program ran off its end without returning")]
    NoReturn,
}

/// The filter's return value (SECCOMP_RET_*) for `data`.
pub fn simulate(program: &[sock_filter], data: &SeccompData) -> Result<u32, SimulateError> {
    let mem = data.bytes();
    let mut acc: u32 = 0;
    let mut pc = 0;
    while let Some(insn) = program.get(pc) {
        let next = pc + 1;
        let k = insn.k;
        pc = match insn.code {
            c if c == BPF_LD | BPF_W | BPF_ABS => {
                let off = k as usize;
                if !off.is_multiple_of(4) || off + 4 > mem.len() {
                    return Err(SimulateError::BadLoad { pc, offset: k });
                }
                acc = u32::from_ne_bytes([mem[off], mem[off + 1], mem[off + 2], mem[off + 3]]);
                next
            }
            c if c == BPF_ALU | BPF_AND | BPF_K => {
                acc &= k;
                next
            }
            c if c == BPF_RET | BPF_K => return Ok(k),
            c if c == BPF_JMP | BPF_JA => next + k as usize,
            c if c & 0x07 == BPF_JMP => {
                let taken = match c & !0x07 {
                    x if x == BPF_JEQ | BPF_K => acc == k,
                    x if x == BPF_JGT | BPF_K => acc > k,
                    x if x == BPF_JGE | BPF_K => acc >= k,
                    x if x == BPF_JSET | BPF_K => acc & k != 0,
                    _ => return Err(SimulateError::BadOpcode { pc, code: c }),
                };
                next + usize::from(if taken { insn.jt } else { insn.jf })
            }
            c => return Err(SimulateError::BadOpcode { pc, code: c }),
        };
        if pc > program.len() {
            return Err(SimulateError::JumpOut { pc: next - 1 });
        }
    }
    Err(SimulateError::NoReturn)
}

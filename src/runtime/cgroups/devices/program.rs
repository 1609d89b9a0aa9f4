//! Compiles a `DeviceState` into a BPF_PROG_TYPE_CGROUP_DEVICE program.
//!
//! The program's context is `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`
//! where access_type is (access << 16) | type. It returns 1 to allow, 0 to deny. Registers after
//! the prologue: R2 type, R3 access, R4 major, R5 minor; R1 is scratch once they are loaded.
//!
//! Each exception becomes a block "if the request matches, return the exception's verdict";
//! a failed test jumps to the next block; the last block returns the default.

use super::ACC_ALL;
use super::state::{DeviceState, Exception};

// Instruction classes, operations and modes (include/uapi/linux/bpf.h, bpf_common.h).
const CLASS_LDX: u8 = 0x01;
const CLASS_ALU: u8 = 0x04; // 32-bit ALU
const CLASS_JMP: u8 = 0x05;
const MODE_MEM: u8 = 0x60;
const SIZE_W: u8 = 0x00;
const SRC_K: u8 = 0x00; // immediate operand
const SRC_X: u8 = 0x08; // register operand
const ALU_AND: u8 = 0x50;
const ALU_RSH: u8 = 0x70;
const ALU_MOV: u8 = 0xb0;
const JMP_JEQ: u8 = 0x10;
const JMP_JNE: u8 = 0x50;
const JMP_EXIT: u8 = 0x90;

pub(crate) const R0: u8 = 0;
pub(crate) const R1: u8 = 1;
pub(crate) const R2: u8 = 2;
pub(crate) const R3: u8 = 3;
pub(crate) const R4: u8 = 4;
pub(crate) const R5: u8 = 5;

/// One eBPF instruction (struct bpf_insn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }
    fn load_u32(dst: u8, src: u8, off: i16) -> Insn {
        Insn::new(CLASS_LDX | MODE_MEM | SIZE_W, dst, src, off, 0)
    }
    fn and32_imm(dst: u8, imm: i32) -> Insn {
        Insn::new(CLASS_ALU | ALU_AND | SRC_K, dst, 0, 0, imm)
    }
    fn rsh32_imm(dst: u8, imm: i32) -> Insn {
        Insn::new(CLASS_ALU | ALU_RSH | SRC_K, dst, 0, 0, imm)
    }
    fn mov32_imm(dst: u8, imm: i32) -> Insn {
        Insn::new(CLASS_ALU | ALU_MOV | SRC_K, dst, 0, 0, imm)
    }
    fn mov32_reg(dst: u8, src: u8) -> Insn {
        Insn::new(CLASS_ALU | ALU_MOV | SRC_X, dst, src, 0, 0)
    }
    /// Jump offsets are patched once the block's length is known.
    fn jne_imm(dst: u8, imm: i32) -> Insn {
        Insn::new(CLASS_JMP | JMP_JNE | SRC_K, dst, 0, 0, imm)
    }
    fn jeq_imm(dst: u8, imm: i32) -> Insn {
        Insn::new(CLASS_JMP | JMP_JEQ | SRC_K, dst, 0, 0, imm)
    }
    fn exit() -> Insn {
        Insn::new(CLASS_JMP | JMP_EXIT, 0, 0, 0, 0)
    }

    fn is_cond_jump(&self) -> bool {
        self.code & 0x07 == CLASS_JMP && self.code & 0xf0 != JMP_EXIT
    }

    /// The kernel's wire format: code, dst:4|src:4, off (le16), imm (le32).
    pub fn encode(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        b[1] = (self.dst & 0x0f) | (self.src << 4);
        b[2..4].copy_from_slice(&self.off.to_le_bytes());
        b[4..8].copy_from_slice(&self.imm.to_le_bytes());
        b
    }
}

pub(crate) fn compile(state: &DeviceState) -> Vec<Insn> {
    let mut prog = vec![
        Insn::load_u32(R2, R1, 0),
        Insn::and32_imm(R2, 0xffff),
        Insn::load_u32(R3, R1, 0),
        Insn::rsh32_imm(R3, 16),
        Insn::load_u32(R4, R1, 4),
        Insn::load_u32(R5, R1, 8),
    ];
    // Exceptions carry the opposite of the default verdict.
    let verdict = i32::from(!state.default_allow);
    for e in &state.exceptions {
        prog.extend(block(e, state.default_allow, verdict));
    }
    prog.push(Insn::mov32_imm(R0, i32::from(state.default_allow)));
    prog.push(Insn::exit());
    prog
}

fn block(e: &Exception, default_allow: bool, verdict: i32) -> Vec<Insn> {
    let mut b = vec![Insn::jne_imm(R2, e.kind as i32)];
    if let Some(major) = e.major {
        b.push(Insn::jne_imm(R4, major as i32));
    }
    if let Some(minor) = e.minor {
        b.push(Insn::jne_imm(R5, minor as i32));
    }
    if e.access != ACC_ALL {
        b.push(Insn::mov32_reg(R1, R3));
        if default_allow {
            // A deny exception matches when the request shares any bit with it.
            b.push(Insn::and32_imm(R1, i32::from(e.access)));
            b.push(Insn::jeq_imm(R1, 0));
        } else {
            // An allow exception matches when it covers every requested bit.
            b.push(Insn::and32_imm(R1, i32::from(!e.access & ACC_ALL)));
            b.push(Insn::jne_imm(R1, 0));
        }
    }
    b.push(Insn::mov32_imm(R0, verdict));
    b.push(Insn::exit());
    // Every test jumps past the block's end, to the next block.
    let len = b.len();
    for (i, insn) in b.iter_mut().enumerate() {
        if insn.is_cond_jump() {
            insn.off = (len - i - 1) as i16;
        }
    }
    b
}

/// A readable listing, one instruction a line.
#[cfg(test)]
pub(crate) fn disassemble(prog: &[Insn]) -> String {
    let mut out = String::new();
    for (i, insn) in prog.iter().enumerate() {
        let text = match (insn.code & 0x07, insn.code & 0xf0, insn.code & 0x08) {
            (CLASS_LDX, _, _) => format!("r{} = *(u32 *)(r{} + {})", insn.dst, insn.src, insn.off),
            (CLASS_ALU, ALU_AND, SRC_K) => format!("w{} &= {:#x}", insn.dst, insn.imm),
            (CLASS_ALU, ALU_RSH, SRC_K) => format!("w{} >>= {}", insn.dst, insn.imm),
            (CLASS_ALU, ALU_MOV, SRC_K) => format!("w{} = {}", insn.dst, insn.imm),
            (CLASS_ALU, ALU_MOV, SRC_X) => format!("w{} = w{}", insn.dst, insn.src),
            (CLASS_JMP, JMP_EXIT, _) => "exit".to_string(),
            (CLASS_JMP, op, SRC_K) => format!(
                "if r{} {} {} goto +{}",
                insn.dst,
                if op == JMP_JEQ { "==" } else { "!=" },
                insn.imm,
                insn.off
            ),
            _ => format!("{:?}", insn),
        };
        out.push_str(&format!("{i:3}: {text}\n"));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::{ACC_MKNOD, ACC_READ, ACC_WRITE, DevKind, DeviceRule};
    use super::*;

    /// Runs the program the way the kernel would, for the instructions `compile` emits.
    pub(crate) fn run(prog: &[Insn], kind: DevKind, access: u8, major: u32, minor: u32) -> u64 {
        let ctx = [(u32::from(access) << 16) | kind as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        let mut steps = 0;
        loop {
            steps += 1;
            assert!(steps < 10_000, "runaway program");
            let i = prog[pc];
            let (d, s) = (usize::from(i.dst), usize::from(i.src));
            pc += 1;
            match (i.code & 0x07, i.code & 0xf0, i.code & 0x08) {
                (CLASS_LDX, _, _) => {
                    assert_eq!(s, 1, "only loads from the context");
                    r[d] = u64::from(ctx[i.off as usize / 4]);
                }
                (CLASS_ALU, ALU_AND, SRC_K) => r[d] = u64::from(r[d] as u32 & i.imm as u32),
                (CLASS_ALU, ALU_RSH, SRC_K) => r[d] = u64::from((r[d] as u32) >> i.imm),
                (CLASS_ALU, ALU_MOV, SRC_K) => r[d] = u64::from(i.imm as u32),
                (CLASS_ALU, ALU_MOV, SRC_X) => r[d] = u64::from(r[s] as u32),
                (CLASS_JMP, JMP_EXIT, _) => return r[0],
                (CLASS_JMP, op, SRC_K) => {
                    let imm = i64::from(i.imm) as u64;
                    let taken = if op == JMP_JEQ {
                        r[d] == imm
                    } else {
                        r[d] != imm
                    };
                    if taken {
                        pc = (pc as i64 + i64::from(i.off)) as usize;
                    }
                }
                other => panic!("unexpected instruction {other:?}"),
            }
        }
    }

    fn rule(
        allow: bool,
        kind: Option<DevKind>,
        major: Option<u32>,
        minor: Option<u32>,
        access: u8,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            kind,
            major,
            minor,
            access,
        }
    }

    #[test]
    fn listing_of_a_docker_like_policy() {
        let state = DeviceState::from_rules(&[
            rule(false, None, None, None, ACC_ALL),
            rule(true, Some(DevKind::Char), None, None, ACC_MKNOD),
            rule(true, Some(DevKind::Char), Some(1), Some(3), ACC_ALL),
            rule(
                true,
                Some(DevKind::Char),
                Some(136),
                None,
                ACC_READ | ACC_WRITE,
            ),
        ]);
        let prog = compile(&state);
        let expected = "  0: r2 = *(u32 *)(r1 + 0)
  1: w2 &= 0xffff
  2: r3 = *(u32 *)(r1 + 0)
  3: w3 >>= 16
  4: r4 = *(u32 *)(r1 + 4)
  5: r5 = *(u32 *)(r1 + 8)
  6: if r2 != 2 goto +5
  7: w1 = w3
  8: w1 &= 0x6
  9: if r1 != 0 goto +2
 10: w0 = 1
 11: exit
 12: if r2 != 2 goto +4
 13: if r4 != 1 goto +3
 14: if r5 != 3 goto +2
 15: w0 = 1
 16: exit
 17: if r2 != 2 goto +6
 18: if r4 != 136 goto +5
 19: w1 = w3
 20: w1 &= 0x1
 21: if r1 != 0 goto +2
 22: w0 = 1
 23: exit
 24: w0 = 0
 25: exit
";
        assert_eq!(disassemble(&prog), expected);
    }

    #[test]
    fn encoding_matches_the_kernel_layout() {
        // r2 = *(u32 *)(r1 + 0): BPF_LDX|BPF_MEM|BPF_W = 0x61, dst 2, src 1.
        assert_eq!(
            Insn::load_u32(R2, R1, 0).encode(),
            [0x61, 0x12, 0, 0, 0, 0, 0, 0]
        );
        // if r4 != 136 goto +4: BPF_JMP|BPF_JNE|BPF_K = 0x55.
        let mut j = Insn::jne_imm(R4, 136);
        j.off = 4;
        assert_eq!(j.encode(), [0x55, 0x04, 4, 0, 136, 0, 0, 0]);
        // w0 = 1: BPF_ALU|BPF_MOV|BPF_K = 0xb4; exit = 0x95.
        assert_eq!(Insn::mov32_imm(R0, 1).encode(), [0xb4, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(Insn::exit().encode(), [0x95, 0, 0, 0, 0, 0, 0, 0]);
        // w1 = w3: BPF_ALU|BPF_MOV|BPF_X = 0xbc, src 3.
        assert_eq!(
            Insn::mov32_reg(R1, R3).encode(),
            [0xbc, 0x31, 0, 0, 0, 0, 0, 0]
        );
    }

    /// A small deterministic generator, so the cross-check covers many rule lists.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    #[test]
    fn program_agrees_with_the_v1_state_machine() {
        let mut g = Lcg(7);
        for _ in 0..300 {
            let mut rules = Vec::new();
            for _ in 0..g.next(8) {
                let kind = match g.next(5) {
                    0 => None,
                    1 | 2 => Some(DevKind::Char),
                    _ => Some(DevKind::Block),
                };
                let num = |g: &mut Lcg| {
                    if g.next(3) == 0 {
                        None
                    } else {
                        Some(g.next(3) as u32)
                    }
                };
                let (major, minor) = (num(&mut g), num(&mut g));
                rules.push(rule(
                    g.next(2) == 0,
                    kind,
                    major,
                    minor,
                    1 + g.next(7) as u8,
                ));
            }
            let state = DeviceState::from_rules(&rules);
            let prog = compile(&state);
            for kind in [DevKind::Char, DevKind::Block] {
                for major in 0..3 {
                    for minor in 0..3 {
                        for access in 1..=ACC_ALL {
                            let want = state.allows(kind, major, minor, access);
                            let got = run(&prog, kind, access, major, minor) == 1;
                            assert_eq!(got, want, "{rules:?} {kind:?} {major}:{minor} {access}");
                        }
                    }
                }
            }
        }
    }
}

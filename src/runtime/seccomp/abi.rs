//! Syscall ABIs the compiler knows: how the kernel tags them in `seccomp_data.arch`, which
//! syscall table they use, and how wide their arguments are.

use oci_spec::runtime::Arch;

use super::syscalls;

/// `seccomp_data.arch` values (linux/audit.h: EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE).
pub(super) const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub(super) const AUDIT_ARCH_I386: u32 = 0x4000_0003;
pub(super) const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
pub(super) const AUDIT_ARCH_ARM: u32 = 0x4000_0028;

/// x32 shares AUDIT_ARCH_X86_64 with x86_64; the kernel sets this bit in the syscall number instead.
pub(super) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// One syscall calling convention: a syscall table plus how the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Abi {
    X86_64,
    X32,
    X86,
    Aarch64,
    Arm,
}

impl Abi {
    /// The ABI for an OCI architecture name; `None` for ones we carry no syscall table for.
    pub(super) fn from_arch(arch: Arch) -> Option<Abi> {
        match arch {
            Arch::ScmpArchX86_64 => Some(Abi::X86_64),
            Arch::ScmpArchX32 => Some(Abi::X32),
            Arch::ScmpArchX86 => Some(Abi::X86),
            Arch::ScmpArchAarch64 => Some(Abi::Aarch64),
            Arch::ScmpArchArm => Some(Abi::Arm),
            Arch::ScmpArchNative => Abi::native(),
            _ => None,
        }
    }

    /// The ABI this binary runs under.
    pub(super) fn native() -> Option<Abi> {
        if cfg!(target_arch = "x86_64") {
            Some(Abi::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Abi::Aarch64)
        } else if cfg!(target_arch = "x86") {
            Some(Abi::X86)
        } else if cfg!(target_arch = "arm") {
            Some(Abi::Arm)
        } else {
            None
        }
    }

    pub(super) fn audit_arch(self) -> u32 {
        match self {
            Abi::X86_64 | Abi::X32 => AUDIT_ARCH_X86_64,
            Abi::X86 => AUDIT_ARCH_I386,
            Abi::Aarch64 => AUDIT_ARCH_AARCH64,
            Abi::Arm => AUDIT_ARCH_ARM,
        }
    }

    /// Syscall numbers this ABI owns within its audit arch, as an inclusive range: x86_64 and x32
    /// split AUDIT_ARCH_X86_64 by the x32 bit, the others own every number.
    pub(super) fn nr_range(self) -> (u32, u32) {
        match self {
            Abi::X86_64 => (0, X32_SYSCALL_BIT - 1),
            Abi::X32 => (X32_SYSCALL_BIT, u32::MAX),
            Abi::X86 | Abi::Aarch64 | Abi::Arm => (0, u32::MAX),
        }
    }

    /// Whether syscall arguments are 64 bits wide. On 32-bit ABIs the kernel zero-extends them and,
    /// like libseccomp, we compare only the low 32 bits of the rule's values.
    pub(super) fn wide_args(self) -> bool {
        match self {
            Abi::X86_64 | Abi::X32 | Abi::Aarch64 => true,
            Abi::X86 | Abi::Arm => false,
        }
    }

    /// The syscall number of `name` on this ABI, or `None` if this ABI has no such syscall.
    pub(super) fn syscall_nr(self, name: &str) -> Option<u32> {
        let table = match self {
            Abi::X86_64 => syscalls::X86_64,
            Abi::X32 => syscalls::X32,
            Abi::X86 => syscalls::X86,
            Abi::Aarch64 => syscalls::AARCH64,
            Abi::Arm => syscalls::ARM,
        };
        table
            .binary_search_by(|(n, _)| (*n).cmp(name))
            .ok()
            .map(|i| table[i].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        for table in [
            syscalls::X86_64,
            syscalls::X32,
            syscalls::X86,
            syscalls::AARCH64,
            syscalls::ARM,
        ] {
            assert!(table.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    #[test]
    fn well_known_numbers() {
        assert_eq!(Abi::X86_64.syscall_nr("read"), Some(0));
        assert_eq!(Abi::X86_64.syscall_nr("mkdir"), Some(83));
        assert_eq!(Abi::X86_64.syscall_nr("clone3"), Some(435));
        assert_eq!(Abi::X86_64.syscall_nr("cachestat"), Some(451));
        assert_eq!(Abi::X86.syscall_nr("mkdir"), Some(39));
        assert_eq!(Abi::X86.syscall_nr("socketcall"), Some(102));
        assert_eq!(Abi::X32.syscall_nr("mkdir"), Some(X32_SYSCALL_BIT | 83));
        // x32's own numbers for calls whose layout differs from x86_64.
        assert_eq!(
            Abi::X32.syscall_nr("rt_sigaction"),
            Some(X32_SYSCALL_BIT | 512)
        );
        assert_eq!(Abi::Aarch64.syscall_nr("mkdirat"), Some(34));
        assert_eq!(Abi::Aarch64.syscall_nr("mkdir"), None);
        assert_eq!(Abi::Arm.syscall_nr("set_tls"), Some(0x0f_0005));
        assert_eq!(Abi::X86_64.syscall_nr("no_such_call"), None);
    }
}

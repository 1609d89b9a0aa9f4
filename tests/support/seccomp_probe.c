/* Calls syscalls with harmless (mostly invalid) arguments and prints what each returned, so the
 * same probe can run under two seccomp filters and their verdicts be compared: a filtered call
 * shows the filter's errno, an allowed one whatever the kernel says about the bad arguments.
 * x86_64 only. Built by tests/seccomp_vs_runc.rs. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void probe(const char *name, long r) {
    printf("%s %ld %s\n", name, r, r < 0 ? strerrorname_np(errno) : "-");
    if (r > 2 && strncmp(name, "socket", 6) == 0)
        close((int)r);
}

#define P(name, ...) do { errno = 0; probe(name, syscall(__VA_ARGS__)); } while (0)

int main(void) {
    P("unshare_none", SYS_unshare, 0);
    P("unshare_newns", SYS_unshare, CLONE_NEWNS);
    P("setns", SYS_setns, -1, 0);
    P("mount", SYS_mount, 0, 0, 0, 0, 0);
    P("umount2", SYS_umount2, "/nonexistent", 0);
    P("reboot", SYS_reboot, 0, 0, 0, 0);
    P("clone3", 435, 0, 0);
    P("clone_newns_fs", SYS_clone, CLONE_NEWNS | CLONE_FS, 0, 0, 0, 0);
    P("clone_high_bits", SYS_clone, (1UL << 32) | CLONE_NEWNS | CLONE_FS, 0, 0, 0, 0);
    P("socket_alg", SYS_socket, 38, 5, 0);
    P("socket_qipcrtr", SYS_socket, 39, 2, 0);
    P("socket_vsock", SYS_socket, 40, 1, 0);
    P("socket_inet", SYS_socket, 2, 2, 0);
    P("socket_high_bits", SYS_socket, (1UL << 32) | 2, 2, 0);
    P("keyctl", SYS_keyctl, 0, 0, 0, 0, 0);
    P("bpf", SYS_bpf, -1, 0, 0);
    P("chroot", SYS_chroot, "/nonexistent");
    P("io_uring_setup", SYS_io_uring_setup, 0, 0);
    P("userfaultfd", SYS_userfaultfd, 0);
    P("ptrace", SYS_ptrace, -1, 0, 0, 0);
    P("kcmp", SYS_kcmp, 0, 0, -1, 0, 0);
    P("kexec_load", SYS_kexec_load, 0, 0, 0, 0);
    P("open_tree_attr", 467, -1, 0, 0, 0, 0);
    P("nr_500", 500, 0);
    P("x32_getpid", 0x40000000 | SYS_getpid);
    P("personality_query", SYS_personality, 0xffffffffUL);
    P("personality_linux32", SYS_personality, 8);
    P("personality_no_randomize", SYS_personality, 0x40000);
    return 0;
}

/*
 * kvm-hold: keeps one idle KVM VM open in the nested test host while
 * tests/nested/kvm-checks runs its KVM groups, so that creating and
 * destroying the checks' VMs patches no kernel code.
 *
 * Why: KVM turns static keys on when the first VM (or vCPU) appears and
 * off when the last goes: preempt_notifier_key (jump sites inlined in the
 * scheduler, kvm_create_vm/kvm_destroy_vm) and the LAPIC's
 * apic_sw_disabled and apic_hw_disabled (kvm_create_lapic, the APIC base
 * MSR).  The kernel rewrites those jump sites live, through an INT3
 * (text_poke_bp).  The outer QEMU's multi-threaded TCG (seen with 7.2)
 * can go on running a stale translation of such a site after it has been
 * rewritten: the vCPU takes the INT3 forever (the kernel's handler finds
 * no INT3 in memory any more and returns to the same address) with
 * interrupts off, and the whole nested host stops.  With this VM held,
 * each key stays on and the checks' VMs only move its count.
 *
 * The vCPU has an in-kernel LAPIC (the irqchip comes first, as in qvm),
 * left software-disabled as at reset and hardware-disabled through the
 * APIC base MSR, so both LAPIC keys are held too.  It never runs.
 * Prints one "kvm-hold: ..." line, then waits for a signal.  Exit status
 * 1 when a step fails.  Built static by tests/nested/run-kvm-check.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MSR_IA32_APICBASE 0x1b
#define APIC_BASE_DEFAULT 0xfee00000u
#define APIC_BASE_BSP (1u << 8) /* SDM Vol. 3, 11.4.4: the enable bit 11 left clear */

static int step(int ret, const char *what)
{
	if (ret < 0) {
		printf("kvm-hold: %s: %s\n", what, strerror(errno));
		exit(1);
	}
	return ret;
}

int main(void)
{
	int kvm = step(open("/dev/kvm", O_RDWR | O_CLOEXEC), "/dev/kvm");
	int vm = step(ioctl(kvm, KVM_CREATE_VM, 0), "KVM_CREATE_VM");
	step(ioctl(vm, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	int vcpu = step(ioctl(vm, KVM_CREATE_VCPU, 0), "KVM_CREATE_VCPU");
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + sizeof(msrs->entries[0]));
	if (!msrs)
		return 1;
	msrs->nmsrs = 1;
	msrs->entries[0].index = MSR_IA32_APICBASE;
	msrs->entries[0].data = APIC_BASE_DEFAULT | APIC_BASE_BSP;
	if (step(ioctl(vcpu, KVM_SET_MSRS, msrs), "KVM_SET_MSRS") != 1) {
		printf("kvm-hold: KVM_SET_MSRS refused the APIC base 0x%x\n",
		       APIC_BASE_DEFAULT | APIC_BASE_BSP);
		return 1;
	}
	printf("kvm-hold: holding a VM with one vCPU (LAPIC disabled), pid %d\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
}

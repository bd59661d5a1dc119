// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/kqemu: qvm's kqemu accelerator (qvm's user/kqemu/kqemu.h is the
 * interface; its ioctls carry those very structs).  One vCPU context per
 * open file: KQEMU_CREATE binds it to qvm's mapping of guest RAM,
 * KQEMU_EXEC applies a run's mapping requests and runs guest user code
 * natively at CPL 3 (kqemu-switch.c) until an exit, KQEMU_KICK ends a
 * run from another thread.  See README.md.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/tlbflush.h>
#include "kqemu-int.h"

struct kq_host kq_host;

/* root only: one #UD at CPL 0 inside the next world switch, which must
 * end in an ERROR exit (tests/nested/kqemu-probe.c) */
int kq_fault_test;
module_param_named(fault_test, kq_fault_test, int, 0600);
MODULE_PARM_DESC(fault_test, "1: fault once inside the next world switch (a test of the recovery)");

static bool pti_ok;
module_param(pti_ok, bool, 0444);
MODULE_PARM_DESC(pti_ok, "load on a kernel with page-table isolation although guest code "
		 "then runs with the whole kernel mapped (Meltdown)");

/* x87, SSE, AVX, AVX-512 (SDM Vol. 1, 13.1): what guest user code gets;
 * PKRU stays the host's (restored after each run if guest code wrote it) */
#define KQ_XCR0_USER 0xe7ull

static int probe_host(void)
{
	u8 fx[512] __aligned(16);
	u32 mask;
	if (!boot_cpu_has(X86_FEATURE_XSAVE) || !boot_cpu_has(X86_FEATURE_OSXSAVE)) {
		pr_err("kqemu: the CPU or the kernel has no XSAVE\n");
		return -ENODEV;
	}
	/* the shadow tables' kernel half is the kernel's full one: on a CPU
	 * that needs PTI, guest code could read it all (Meltdown) */
	if (boot_cpu_has(X86_FEATURE_PTI) && !pti_ok) {
		pr_err("kqemu: this kernel uses page-table isolation (pti): "
		       "guest code would run with the whole kernel mapped; load with pti_ok=1 "
		       "to accept that\n");
		return -EPERM;
	}
	kq_host.xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK) & KQ_XCR0_USER;
	kq_host.xsave_size = 576;
	for (int i = 2; i < 64; i++) {
		u32 a, b, cc, d;
		if (!(kq_host.xcr0 & (1ull << i)))
			continue;
		cpuid_count(0xd, i, &a, &b, &cc, &d);
		kq_host.comp_size[i] = a;
		kq_host.comp_off[i] = b;
		if (a + b > KQEMU_XSAVE_MAX) {
			/* AVX-512 beyond the interface's 4 KiB: not offered */
			kq_host.xcr0 &= ~0xe0ull;
			continue;
		}
	}
	for (int i = 2; i < 64; i++)
		if (kq_host.xcr0 & (1ull << i))
			kq_host.xsave_size = max(kq_host.xsave_size,
						 kq_host.comp_off[i] + kq_host.comp_size[i]);
	memset(fx, 0, sizeof(fx));
	kernel_fpu_begin();
	asm volatile("fxsave %0" : "=m"(fx));
	kernel_fpu_end();
	memcpy(&mask, fx + 28, 4);
	kq_host.mxcsr_mask = mask ? mask : 0xffbf;
	kq_host.pcid = !!(__read_cr4() & X86_CR4_PCIDE);
	kq_host.pku = boot_cpu_has(X86_FEATURE_OSPKE);
	kq_host.nx = !!(__supported_pte_mask & _PAGE_NX);
	kq_host.la57 = pgtable_l5_enabled();
	return 0;
}

static void get_info(struct kqemu_backend_info *info)
{
	memset(info, 0, sizeof(*info));
	info->version = KQEMU_VERSION;
	info->user_start = 0;
	info->user_end = 1ull << 47;
	info->xcr0 = kq_host.xcr0;
	info->xsave_size = kq_host.xsave_size;
	snprintf(info->description, sizeof(info->description),
		 "/dev/kqemu %u.%u: world switch, shadow page tables%s%s",
		 KQEMU_VERSION_MAJOR, KQEMU_VERSION_MINOR, kq_host.pcid ? ", PCID" : "",
		 kq_host.la57 ? ", 5-level host" : "");
}

static int kq_open(struct inode *inode, struct file *f)
{
	struct kq_ctx *c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
	if (!c)
		return -ENOMEM;
	mutex_init(&c->lock);
	spin_lock_init(&c->run_lock);
	INIT_LIST_HEAD(&c->tables);
	f->private_data = c;
	return 0;
}

static int kq_release(struct inode *inode, struct file *f)
{
	struct kq_ctx *c = f->private_data;
	kq_mmu_free(c);
	if (c->mm)
		mmdrop(c->mm);
	kfree(c);
	return 0;
}

static long do_create(struct kq_ctx *c, void __user *arg)
{
	struct kqemu_create cr;
	int r;
	if (copy_from_user(&cr, arg, sizeof(cr)))
		return -EFAULT;
	if ((cr.ram_host | cr.ram_size) & ~PAGE_MASK || !cr.ram_size ||
	    cr.ram_host + cr.ram_size < cr.ram_host || cr.ram_host + cr.ram_size > TASK_SIZE_MAX)
		return -EINVAL;
	mutex_lock(&c->lock);
	if (c->created) {
		mutex_unlock(&c->lock);
		return -EEXIST;
	}
	r = kq_mmu_init(c);
	if (r) {
		kq_mmu_free(c);
		mutex_unlock(&c->lock);
		return r;
	}
	kq_ctx_init_idt(c);
	c->ram_host = cr.ram_host;
	c->ram_size = cr.ram_size;
	c->mm = current->mm;
	mmgrab(c->mm);
	c->created = true;
	mutex_unlock(&c->lock);
	return 0;
}

/* The run's mapping requests, in kqemu.h's order; an error message or NULL. */
static const char *apply_requests(struct kq_ctx *c, const struct kqemu_run *run)
{
	const char *bad;
	if (run->nr_map > KQEMU_MAX_MAPS || run->nr_unmap > KQEMU_MAX_UNMAPS)
		return "too many map or unmap entries";
	if (run->flush_all)
		kq_mmu_flush(c);
	for (u32 i = 0; i < run->nr_unmap; i++) {
		bad = kq_mmu_unmap(c, run->unmap[i]);
		if (bad)
			return bad;
	}
	for (u32 i = 0; i < run->nr_map; i++) {
		bad = kq_mmu_map(c, &run->map[i]);
		if (bad)
			return bad;
	}
	return NULL;
}

/* Things of the calling process that guest code must not reach. */
static const char *check_process(void)
{
	if (test_thread_flag(TIF_IO_BITMAP))
		return "the process has an I/O permission bitmap (ioperm)";
#ifdef CONFIG_MODIFY_LDT_SYSCALL
	if (READ_ONCE(current->mm->context.ldt))
		return "the process has an LDT (modify_ldt)";
#endif
	return NULL;
}

static long do_exec(struct kq_ctx *c, struct kqemu_run __user *arg)
{
	struct kqemu_run *run = &c->run;
	const char *bad;
	long r = 0;
	if (!c->created)
		return -ENOTCONN;
	if (current->mm != c->mm)
		return -EPERM;
	if (!mutex_trylock(&c->lock))
		return -EBUSY;
	if (copy_from_user(run, arg, sizeof(*run))) {
		r = -EFAULT;
		goto out;
	}
	run->exit_class = KQEMU_EXIT_NONE;
	run->message[0] = 0;
	run->host_ns = 0;
	bad = run->version >> 16 != KQEMU_VERSION_MAJOR ? "interface version mismatch" :
	      check_process();
	if (!bad)
		bad = apply_requests(c, run);
	if (bad) {
		run->exit_class = KQEMU_EXIT_ERROR;
		snprintf(run->message, sizeof(run->message), "module backend: %s", bad);
	} else if (xchg(&c->kick, 0)) {
		run->exit_class = KQEMU_EXIT_SIGNAL;
	} else {
		cond_resched();
		spin_lock(&c->run_lock);
		c->running = current;
		spin_unlock(&c->run_lock);
		kq_exec(c, run);
		spin_lock(&c->run_lock);
		c->running = NULL;
		spin_unlock(&c->run_lock);
	}
	if (copy_to_user(&arg->state, &run->state,
			 sizeof(*run) - offsetof(struct kqemu_run, state)))
		r = -EFAULT;
out:
	mutex_unlock(&c->lock);
	return r;
}

static void do_kick(struct kq_ctx *c)
{
	WRITE_ONCE(c->kick, 1);
	smp_mb();
	spin_lock(&c->run_lock);
	if (c->running)
		kick_process(c->running);
	spin_unlock(&c->run_lock);
}

static long kq_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct kq_ctx *c = f->private_data;
	struct kqemu_backend_info info;
	switch (cmd) {
	case KQEMU_GET_VERSION:
		return KQEMU_VERSION;
	case KQEMU_GET_INFO:
		get_info(&info);
		return copy_to_user((void __user *)arg, &info, sizeof(info)) ? -EFAULT : 0;
	case KQEMU_CREATE:
		return do_create(c, (void __user *)arg);
	case KQEMU_EXEC:
		return do_exec(c, (struct kqemu_run __user *)arg);
	case KQEMU_KICK:
		do_kick(c);
		return 0;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations kq_fops = {
	.owner = THIS_MODULE,
	.open = kq_open,
	.release = kq_release,
	.unlocked_ioctl = kq_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice kq_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kqemu",
	.fops = &kq_fops,
	.mode = 0660,
};

static int __init kq_init(void)
{
	int r = probe_host();
	if (r)
		return r;
	r = misc_register(&kq_dev);
	if (r)
		return r;
	pr_info("kqemu: /dev/kqemu %u.%u, guest XCR0 %#llx (%u bytes)%s%s\n",
		KQEMU_VERSION_MAJOR, KQEMU_VERSION_MINOR, kq_host.xcr0, kq_host.xsave_size,
		kq_host.pcid ? ", PCID" : "", kq_host.la57 ? ", 5-level paging" : "");
	return 0;
}

static void __exit kq_exit(void)
{
	misc_deregister(&kq_dev);
}

module_init(kq_init);
module_exit(kq_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("qvm's kqemu accelerator: guest user code at native speed without VT");

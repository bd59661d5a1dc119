/*
 * difftest: run every table entry with its edge values, then random
 * cases, natively and in TCG's engines (the interpreter, the JIT), and
 * compare each engine with the host.  One PASS/FAIL line per engine and
 * group.
 *
 *   difftest [--seed N] [--random COUNT] [--only NAME] [--no-tables]
 *            [--case K] [--list] [--stats] [--without FEAT,...]
 *            [--engine interp|jit|both] [-v]
 *
 * Entries that need a feature the host CPU lacks (features.c) print one
 * SKIP line each; --without pretends the host lacks those features.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "difftest.h"

#define MAX_GROUPS 256
#define SHOW_FAILS 3

struct group {
	const char *name;
	unsigned long cases, faults;
	unsigned long fails[DT_ENGINES];        /* cases where the engine differs */
	unsigned shown[DT_ENGINES];
};

static const char *const engine_names[DT_ENGINES] = { "interp", "jit" };
static unsigned engines = 1u << DT_INTERP | 1u << DT_JIT;       /* --engine */

static struct group groups[MAX_GROUPS];
static unsigned ngroups;
static bool verbose;
static unsigned long def_cases[8192], def_faults[8192][32];
static uint64_t seed = 1;
static unsigned host_features;          /* bit per enum dt_feat */
static unsigned long skipped_cases;
uint32_t dt_mxcsr_model_bits;
static uint32_t tcg_mxcsr_mask;         /* what TCG's FXSAVE must store */

static struct group *group_of(const char *name)
{
	for (unsigned i = 0; i < ngroups; i++)
		if (!strcmp(groups[i].name, name))
			return &groups[i];
	if (ngroups == MAX_GROUPS)
		return &groups[MAX_GROUPS - 1];
	groups[ngroups].name = name;
	return &groups[ngroups++];
}

static const char *const reg_names[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static const char *vec_name(int v)
{
	static const char *const n[] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "9",
		"#TS", "#NP", "#SS", "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM",
	};
	static char buf[16];

	if (v < 0)
		return "none";
	if (v == DT_HARNESS_FAULT)
		return "harness-fault";
	if (v < 20)
		return n[v];
	snprintf(buf, sizeof(buf), "vec %d", v);
	return buf;
}

/* ------------------------------------------------------------------ */
/* Comparison */

struct diff {
	char text[4096];
	size_t len;
	unsigned n;
};

static void note(struct diff *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct diff *d, const char *fmt, ...)
{
	va_list ap;

	d->n++;
	if (d->len >= sizeof(d->text) - 1)
		return;
	va_start(ap, fmt);
	int k = vsnprintf(d->text + d->len, sizeof(d->text) - d->len, fmt, ap);
	va_end(ap);
	if (k > 0)
		d->len += (size_t)k;
	if (d->len >= sizeof(d->text))
		d->len = sizeof(d->text) - 1;
}

static uint16_t u16_at(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint32_t u32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void hex128(char out[40], const uint8_t *p)
{
	uint64_t lo, hi;

	memcpy(&lo, p, 8);
	memcpy(&hi, p + 8, 8);
	snprintf(out, 40, "%016llx_%016llx", (unsigned long long)hi, (unsigned long long)lo);
}

/* rcp/rsqrt: both results within the SDM's relative error of each other */
static bool approx_equal(const uint8_t *a, const uint8_t *b)
{
	for (int k = 0; k < 4; k++) {
		float x, y;

		memcpy(&x, a + 4 * k, 4);
		memcpy(&y, b + 4 * k, 4);
		if (memcmp(&x, &y, 4) == 0)
			continue;
		if (x != x || y != y)
			return false;
		float e = x - y;

		if (e < 0)
			e = -e;
		if (e > (x < 0 ? -x : x) * (3.0f / 4096.0f))
			return false;
	}
	return true;
}

static void compare_x87(const struct dt_case *c, const struct dt_result *n,
			const struct dt_result *t, struct diff *d)
{
	const uint8_t *a = n->cpu.fx, *b = t->cpu.fx;
	uint16_t fsw_mask = ~c->fsw_undef;
	unsigned top = u16_at(a + FX_FSW) >> 11 & 7;

	if (u16_at(a + FX_FCW) != u16_at(b + FX_FCW))
		note(d, "  fcw: native %04x tcg %04x\n", u16_at(a + FX_FCW), u16_at(b + FX_FCW));
	if ((u16_at(a + FX_FSW) ^ u16_at(b + FX_FSW)) & fsw_mask)
		note(d, "  fsw: native %04x tcg %04x (ignored bits %04x)\n", u16_at(a + FX_FSW),
		     u16_at(b + FX_FSW), c->fsw_undef);
	if (a[FX_FTW] != b[FX_FTW])
		note(d, "  ftw: native %02x tcg %02x\n", a[FX_FTW], b[FX_FTW]);
	for (unsigned i = 0; i < 8; i++) {
		/* an empty register's contents do not matter */
		if (!(a[FX_FTW] >> ((top + i) & 7) & 1))
			continue;
		if (memcmp(a + FX_ST(i), b + FX_ST(i), 10)) {
			uint64_t ma, mb;

			memcpy(&ma, a + FX_ST(i), 8);
			memcpy(&mb, b + FX_ST(i), 8);
			note(d, "  st%u: native %04x:%016llx tcg %04x:%016llx\n", i,
			     u16_at(a + FX_ST(i) + 8), (unsigned long long)ma,
			     u16_at(b + FX_ST(i) + 8), (unsigned long long)mb);
		}
	}
}

/*
 * FXSAVE's MXCSR_MASK (SDM Vol. 1, 11.6.6) says which MXCSR bits the
 * processor supports, so it is a property of the CPU model: TCG must store
 * the mask its own CPUID implies, and the host's may differ from it only
 * in bits that a CPUID flag TCG's CPU lacks or has beyond the host's
 * explains (setup_models()).
 */
static void compare_mxcsr_mask(const struct dt_case *c, const struct dt_result *n,
			       const struct dt_result *t, struct diff *d)
{
	uint32_t nm, tm;

	if (c->mxmask_off + 4 > DT_DATA_SIZE)
		return;
	memcpy(&nm, n->data + c->mxmask_off, 4);
	memcpy(&tm, t->data + c->mxmask_off, 4);
	if (tm != tcg_mxcsr_mask)
		note(d, "  mxcsr_mask: tcg %08x, its CPUID says %08x\n", tm, tcg_mxcsr_mask);
	if ((nm ^ tm) & ~dt_mxcsr_model_bits)
		note(d, "  mxcsr_mask: native %08x tcg %08x (model bits %08x)\n", nm, tm,
		     dt_mxcsr_model_bits);
}

static void compare(const struct dt_case *c, const struct dt_result *n,
		    const struct dt_result *t, struct diff *d)
{
	uint64_t fmask = ~(c->undef_flags | 0x10000ULL); /* RF is not state */

	if (n->vec != t->vec)
		note(d, "  exception: native %s tcg %s\n", vec_name(n->vec), vec_name(t->vec));
	if (n->vec == t->vec && (n->vec == 13 || n->vec == 12) && n->err != t->err)
		note(d, "  error code: native %#x tcg %#x\n", n->err, t->err);
	/* a REP CMPS/SCAS that faults part-way: the hardware leaves the
	 * flags of no particular iteration (the restart recomputes them) */
	if (n->vec >= 0 && c->d->x & X_STRING)
		fmask &= ~(uint64_t)0x8d5;
	if (n->vec == t->vec && n->vec == 14) {
		if (n->cr2 != t->cr2 && !(c->d->x & X_NOCR2))
			note(d, "  cr2: native %#llx tcg %#llx\n", (unsigned long long)n->cr2,
			     (unsigned long long)t->cr2);
		if ((n->err ^ t->err) & 0x1f)
			note(d, "  #PF error code: native %#x tcg %#x\n", n->err, t->err);
	}
	for (int r = 0; r < 16; r++)
		if (n->cpu.regs[r] != t->cpu.regs[r] && !(c->ignore_regs >> r & 1))
			note(d, "  %s: native %016llx tcg %016llx\n", reg_names[r],
			     (unsigned long long)n->cpu.regs[r], (unsigned long long)t->cpu.regs[r]);
	if (n->cpu.rip != t->cpu.rip)
		note(d, "  rip: native %#llx tcg %#llx\n", (unsigned long long)n->cpu.rip,
		     (unsigned long long)t->cpu.rip);
	if ((n->cpu.rflags ^ t->cpu.rflags) & fmask)
		note(d, "  rflags: native %06llx tcg %06llx (undefined %03llx)\n",
		     (unsigned long long)n->cpu.rflags, (unsigned long long)t->cpu.rflags,
		     (unsigned long long)c->undef_flags);
	if (u32_at(n->cpu.fx + FX_MXCSR) != u32_at(t->cpu.fx + FX_MXCSR))
		note(d, "  mxcsr: native %08x tcg %08x\n", u32_at(n->cpu.fx + FX_MXCSR),
		     u32_at(t->cpu.fx + FX_MXCSR));
	for (int r = 0; r < 16; r++) {
		const uint8_t *a = n->cpu.fx + FX_XMM(r), *b = t->cpu.fx + FX_XMM(r);
		char ha[40], hb[40];

		if (!memcmp(a, b, 16) || (c->approx && approx_equal(a, b)))
			continue;
		hex128(ha, a);
		hex128(hb, b);
		note(d, "  xmm%d: native %s tcg %s\n", r, ha, hb);
	}
	for (int r = 0; r < 16; r++) {
		const uint8_t *a = n->cpu.ymmh[r], *b = t->cpu.ymmh[r];
		char ha[40], hb[40];

		if (!memcmp(a, b, 16) || (c->approx && approx_equal(a, b)))
			continue;
		hex128(ha, a);
		hex128(hb, b);
		note(d, "  ymm%d[255:128]: native %s tcg %s\n", r, ha, hb);
	}
	if (c->x87)
		compare_x87(c, n, t, d);
	unsigned shown = 0;

	if (c->mxmask && n->vec < 0)
		compare_mxcsr_mask(c, n, t, d);
	for (unsigned k = 0; k < DT_DATA_SIZE; k++) {
		if (n->data[k] == t->data[k] || (k >= c->ign_off && k < c->ign_off + c->ign_len) ||
		    (c->mxmask && k >= c->mxmask_off && k < c->mxmask_off + 4) ||
		    (k >= c->ign2_off && k < c->ign2_off + c->ign2_len) ||
		    (n->vec >= 0 && k >= c->fault_ign_off && k < c->fault_ign_off + c->fault_ign_len))
			continue;
		if (shown++ < 8)
			note(d, "  mem %#llx: native %02x tcg %02x (was %02x)\n",
			     (unsigned long long)(DT_DATA_BASE + k), n->data[k], t->data[k], c->data[k]);
		else
			d->n++;
	}
}

static void print_case(const struct dt_case *c)
{
	printf("  insn:");
	for (unsigned k = 0; k < c->len; k++)
		printf(" %02x", c->code[k]);
	printf("  (%s %s, osz %u)\n", c->d->group, c->d->name, c->osz);
	for (int r = 0; r < 16; r += 4)
		printf("  in %-3s %016llx %-3s %016llx %-3s %016llx %-3s %016llx\n",
		       reg_names[r], (unsigned long long)c->in.regs[r],
		       reg_names[r + 1], (unsigned long long)c->in.regs[r + 1],
		       reg_names[r + 2], (unsigned long long)c->in.regs[r + 2],
		       reg_names[r + 3], (unsigned long long)c->in.regs[r + 3]);
	printf("  in rflags %06llx mxcsr %08x fcw %04x fsw %04x ftw %02x\n",
	       (unsigned long long)c->in.rflags, u32_at(c->in.fx + FX_MXCSR),
	       u16_at(c->in.fx + FX_FCW), u16_at(c->in.fx + FX_FSW), c->in.fx[FX_FTW]);
}

static void print_inputs_vec(const struct dt_case *c)
{
	if (c->d->kind == K_INT)
		return;
	for (int r = 0; r < 16; r++) {
		char h[40];

		hex128(h, c->in.fx + FX_XMM(r));
		printf("  in xmm%-2d %s%s", r, h, r & 1 ? "\n" : "  ");
	}
	for (int r = 0; r < 16; r++) {
		char h[40];

		hex128(h, c->in.ymmh[r]);
		printf("  in ymm%-2dh %s%s", r, h, r & 1 ? "\n" : "  ");
	}
	if (c->d->kind == K_X87 || c->d->kind == K_MMX)
		for (int i = 0; i < 8; i++) {
			uint64_t mant;

			memcpy(&mant, c->in.fx + FX_ST(i), 8);
			printf("  in st%d %04x:%016llx%s", i, u16_at(c->in.fx + FX_ST(i) + 8),
			       (unsigned long long)mant, i & 1 ? "\n" : "  ");
		}
}

/* --case: what the instruction changed natively (TCG agreeing or not) */
static void print_effect(const struct dt_case *c, const struct dt_result *n)
{
	unsigned mem = 0;

	for (int r = 0; r < 16; r++)
		if (n->cpu.regs[r] != c->in.regs[r])
			printf("  out %s %016llx\n", reg_names[r], (unsigned long long)n->cpu.regs[r]);
	printf("  out rflags %06llx mxcsr %08x fsw %04x ftw %02x\n",
	       (unsigned long long)n->cpu.rflags, u32_at(n->cpu.fx + FX_MXCSR),
	       u16_at(n->cpu.fx + FX_FSW), n->cpu.fx[FX_FTW]);
	for (int r = 0; r < 16; r++)
		if (memcmp(n->cpu.fx + FX_XMM(r), c->in.fx + FX_XMM(r), 16)) {
			char h[40];

			hex128(h, n->cpu.fx + FX_XMM(r));
			printf("  out xmm%d %s\n", r, h);
		}
	for (int r = 0; r < 16; r++)
		if (memcmp(n->cpu.ymmh[r], c->in.ymmh[r], 16)) {
			char h[40];

			hex128(h, n->cpu.ymmh[r]);
			printf("  out ymm%dh %s\n", r, h);
		}
	for (int i = 0; i < 8; i++)
		if (memcmp(n->cpu.fx + FX_ST(i), c->in.fx + FX_ST(i), 10)) {
			uint64_t mant;

			memcpy(&mant, n->cpu.fx + FX_ST(i), 8);
			printf("  out st%d %04x:%016llx\n", i, u16_at(n->cpu.fx + FX_ST(i) + 8),
			       (unsigned long long)mant);
		}
	for (unsigned k = 0; k < DT_DATA_SIZE; k++)
		if (n->data[k] != c->data[k] && mem++ < 16)
			printf("  out mem %#llx %02x (was %02x)\n",
			       (unsigned long long)(DT_DATA_BASE + k), n->data[k], c->data[k]);
}

/* ------------------------------------------------------------------ */
/* Running */

static struct dt_case the_case;
static struct dt_result native_res, tcg_res, relaxed_res;

/* One engine against the native result: count, and print the first
 * differences of the group (or everything, for --case). */
static bool check_engine(const struct dt_case *c, enum dt_engine e, const char *how,
			 bool show_always)
{
	struct group *g = group_of(c->d->group);
	struct diff d = { .len = 0 };

	const struct dt_result *nr = &native_res;

	dt_tcg_run(c, e, &tcg_res);
	if (c->vsib.on && native_res.vec >= 0 && tcg_res.vec == native_res.vec) {
		relaxed_res = native_res;
		dt_vsib_relax(c, &relaxed_res, &tcg_res);
		nr = &relaxed_res;
	}
	compare(c, nr, &tcg_res, &d);
	if (!d.n && !show_always)
		return true;
	if (d.n)
		g->fails[e]++;
	if (show_always || g->shown[e] < (verbose ? 50u : SHOW_FAILS)) {
		g->shown[e]++;
		printf("%s (%s) %s: %s\n", d.n ? "mismatch" : "match", engine_names[e], how,
		       c->d->name);
		if (!show_always) {
			print_case(c);
			if (verbose)
				print_inputs_vec(c);
		}
		printf("  native: %s, rip %#llx; %s: %s, rip %#llx\n", vec_name(native_res.vec),
		       (unsigned long long)native_res.cpu.rip, engine_names[e],
		       vec_name(tcg_res.vec), (unsigned long long)tcg_res.cpu.rip);
		fputs(d.text, stdout);
		if (d.n > 40)
			printf("  ... %u differences\n", d.n);
	}
	return !d.n;
}

static bool run_case(const struct dt_case *c, const char *how, bool show_always)
{
	struct group *g = group_of(c->d->group);
	bool same = true;

	dt_native_run(c, &native_res);
	g->cases++;
	if (native_res.vec >= 0)
		g->faults++;
	unsigned di = (unsigned)(c->d - dt_defs);

	if (di < 8192) {
		def_cases[di]++;
		if (native_res.vec >= 0 && native_res.vec < 32)
			def_faults[di][native_res.vec]++;
	}

	if (show_always) {
		printf("%s: %s\n", how, c->d->name);
		print_case(c);
		print_inputs_vec(c);
		print_effect(c, &native_res);
	}
	for (int e = 0; e < DT_ENGINES; e++)
		if (engines >> e & 1)
			same &= check_engine(c, e, how, show_always);
	return same;
}

static bool selected(const struct dt_def *d, const char *only)
{
	char full[160];

	if (!only)
		return true;
	snprintf(full, sizeof(full), "%s/%s", d->group, d->name);
	return strstr(full, only) != NULL;
}

static uint64_t case_seed(uint64_t a, uint64_t b)
{
	return seed * 0x9e3779b97f4a7c15ULL ^ a << 32 ^ b;
}

static bool host_runs(const struct dt_def *d)
{
	return host_features >> dt_def_feature(d) & 1;
}

/* MXCSR bit 17, MM, exists with CPUID 8000_0001h ECX bit 7, MisAlignSse
 * (AMD APM Vol. 1, 4.3.2 and Vol. 4, "Misaligned Access Support Added for
 * SSE Instructions"); bits 0-15 every x86-64 processor has. */
#define X1_ECX_MISALIGNSSE (1u << 7)
#define MXCSR_MM (1u << 17)

/* What each CPU model supports: the host's by executing (its FXSAVE's
 * MXCSR_MASK; the instruction probes), TCG's from the CPUID it gives its
 * guests. */
static void setup_models(const char *without)
{
	uint32_t tcg_x1[4], native_bits, tcg_bits;

	host_features = dt_host_features();
	for (const char *w = without; w && *w;) {
		size_t len = strcspn(w, ",");
		char name[32];

		snprintf(name, sizeof(name), "%.*s", (int)len, w);
		int f = dt_feature_by_name(name);

		if (f < 0) {
			fprintf(stderr, "difftest: --without: unknown feature '%s'\n", name);
			exit(2);
		}
		host_features &= ~(1u << f);
		w += len + (w[len] == ',');
	}
	dt_tcg_cpuid(0x80000001u, tcg_x1);
	tcg_bits = tcg_x1[2] & X1_ECX_MISALIGNSSE ? MXCSR_MM : 0;
	native_bits = dt_native_mxcsr_mask() & MXCSR_MM;
	/* any other difference in MXCSR_MASK is compared, and reported */
	dt_mxcsr_model_bits = native_bits ^ tcg_bits;
	tcg_mxcsr_mask = 0xffff | tcg_bits;
}

static void run_tables(const char *only)
{
	for (unsigned i = 0; i < dt_ndefs; i++) {
		const struct dt_def *d = &dt_defs[i];
		unsigned n = dt_edge_count(d);

		if (!selected(d, only))
			continue;
		if (!host_runs(d)) {
			printf("SKIP: difftest/%s/%s: the host CPU lacks %s; run on one that has it\n",
			       d->group, d->name, dt_feature_name(dt_def_feature(d)));
			continue;
		}
		for (unsigned e = 0; e < n; e++) {
			char how[64];

			dt_seed(case_seed(i + 1, e));
			if (!dt_gen(&the_case, d, (int)e))
				break;
			snprintf(how, sizeof(how), "table entry %u edge %u", i, e);
			run_case(&the_case, how, false);
		}
	}
}

static void run_random(const char *only, unsigned long count, long one)
{
	static const struct dt_def *pick[8192];
	unsigned npick = 0;

	for (unsigned i = 0; i < dt_ndefs && npick < 8192; i++)
		if (selected(&dt_defs[i], only))
			pick[npick++] = &dt_defs[i];
	if (!npick)
		return;
	for (unsigned long k = 0; k < count; k++) {
		char how[96];

		if (one >= 0 && k != (unsigned long)one)
			continue;
		const struct dt_def *d;

		dt_seed(case_seed(0, k));
		d = pick[dt_rand() % npick];
		/* drawn, not run: case numbers stay the same on every host */
		if (!host_runs(d)) {
			skipped_cases++;
			continue;
		}
		dt_gen(&the_case, d, -1);
		snprintf(how, sizeof(how), "random case %lu (--seed %llu --case %lu%s%s)", k,
			 (unsigned long long)seed, k, only ? " --only " : "", only ? only : "");
		run_case(&the_case, how, one >= 0);
	}
}

static void list_defs(void)
{
	for (unsigned i = 0; i < dt_ndefs; i++)
		printf("%s/%s: %u edge cases%s%s\n", dt_defs[i].group, dt_defs[i].name,
		       dt_edge_count(&dt_defs[i]), dt_def_feature(&dt_defs[i]) ? ", needs " : "",
		       dt_def_feature(&dt_defs[i]) ? dt_feature_name(dt_def_feature(&dt_defs[i])) : "");
}

/* --stats: how often each entry faulted natively, to spot entries whose
 * cases never get past their checks */
static void print_stats(void)
{
	for (unsigned i = 0; i < dt_ndefs && i < 8192; i++) {
		if (!def_cases[i])
			continue;
		printf("%-20s %-22s %6lu cases", dt_defs[i].group, dt_defs[i].name, def_cases[i]);
		for (int v = 0; v < 32; v++)
			if (def_faults[i][v])
				printf(" %s %lu%%", vec_name(v), def_faults[i][v] * 100 / def_cases[i]);
		printf("\n");
	}
}

/* --engine interp|jit|both: the set of engines (a bit each) */
static unsigned parse_engines(const char *arg)
{
	if (!strcmp(arg, "both"))
		return 1u << DT_INTERP | 1u << DT_JIT;
	for (int e = 0; e < DT_ENGINES; e++)
		if (!strcmp(arg, engine_names[e]))
			return 1u << e;
	fprintf(stderr, "difftest: --engine %s: expected interp, jit or both\n", arg);
	exit(2);
}

static void usage(void)
{
	fprintf(stderr, "usage: difftest [--seed N] [--random COUNT] [--only NAME] "
		"[--no-tables] [--case K] [--list] [--stats] [--without FEAT,...] "
		"[--engine interp|jit|both] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long count = 20000;
	const char *only = NULL, *without = NULL;
	bool tables = true, stats = false;
	long one = -1;
	int failed = 0;
	time_t start = time(NULL);

	dt_tables_init();

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-v"))
			verbose = true;
		else if (!strcmp(a, "--stats"))
			stats = true;
		else if (!strcmp(a, "--no-tables"))
			tables = false;
		else if (!strcmp(a, "--list")) {
			list_defs();
			return 0;
		} else if (i + 1 < argc && !strcmp(a, "--seed"))
			seed = strtoull(argv[++i], NULL, 0);
		else if (i + 1 < argc && !strcmp(a, "--random"))
			count = strtoul(argv[++i], NULL, 0);
		else if (i + 1 < argc && !strcmp(a, "--only"))
			only = argv[++i];
		else if (i + 1 < argc && !strcmp(a, "--without"))
			without = argv[++i];
		else if (i + 1 < argc && !strcmp(a, "--case"))
			one = strtol(argv[++i], NULL, 0);
		else if (i + 1 < argc && !strcmp(a, "--engine"))
			engines = parse_engines(argv[++i]);
		else
			usage();
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (dt_native_init() < 0) {
		printf("SKIP: difftest: cannot set up the native sandbox\n");
		return 0;
	}
	if (dt_tcg_init() < 0) {
		printf("FAIL: difftest/setup: cannot set up the TCG machine\n");
		return 1;
	}
	setup_models(without);
	if (one >= 0) {
		run_random(only, (unsigned long)one + 1, one);
		return 0;
	}
	if (tables)
		run_tables(only);
	run_random(only, count, -1);
	if (stats)
		print_stats();
	for (int e = 0; e < DT_ENGINES; e++) {
		if (!(engines >> e & 1))
			continue;
		for (unsigned i = 0; i < ngroups; i++) {
			struct group *g = &groups[i];

			if (g->fails[e]) {
				printf("FAIL: difftest/%s/%s (%lu of %lu cases differ)\n",
				       engine_names[e], g->name, g->fails[e], g->cases);
				failed = 1;
			} else {
				printf("PASS: difftest/%s/%s (%lu cases, %lu%% faulting)\n",
				       engine_names[e], g->name, g->cases,
				       g->cases ? g->faults * 100 / g->cases : 0);
			}
		}
	}
	if (skipped_cases)
		printf("SKIP: difftest/random: %lu of %lu random cases need a feature the host "
		       "CPU lacks; run on one that has it\n", skipped_cases, count);
	fprintf(stderr, "difftest: seed %llu, %ld s\n", (unsigned long long)seed,
		(long)(time(NULL) - start));
	return failed;
}

/*
 * -cpu MODEL[,+FEAT][,-FEAT][,FEAT=on|off][,vendor=V][,model-id=S][,enforce]:
 * QEMU's syntax (cpu-model.c) and its named models (cpu-models.c).  The
 * model name is checked by the engine (kvm/cpuid.c, tcg/tcg.c); the
 * features, by their QEMU names, as CPUID bits.
 */
#ifndef QVM_CPU_MODEL_H
#define QVM_CPU_MODEL_H

#include <stdbool.h>
#include <stdint.h>

/* The CPUID registers that hold feature flags (SDM Vol. 2A, CPUID) */
enum cpuid_word {
	CPUID_1_EDX,
	CPUID_1_ECX,
	CPUID_6_EAX,
	CPUID_7_0_EBX,
	CPUID_7_0_ECX,
	CPUID_7_0_EDX,
	CPUID_7_2_EDX,
	CPUID_D_1_EAX,
	CPUID_8000_0001_EDX,
	CPUID_8000_0001_ECX,
	CPUID_8000_0007_EDX,
	CPUID_8000_0008_EBX,
	CPUID_WORDS
};

/* What -cpu asked for: bits to add (on) and to remove (off), per word;
 * the last mention of a feature wins.  enforce: a requested feature the
 * engine can't give is an error instead of a warning. */
struct cpu_features {
	uint32_t on[CPUID_WORDS], off[CPUID_WORDS];
	bool enforce;
	char vendor[13];                /* vendor=: 12 characters, or "" */
	char model_id[49];              /* model-id=: the brand string, or "" */
};

/* Split "-cpu" in place: *model gets the name (arg, cut at the first
 * comma), f the features after it.  0, or -1 with one line printed. */
int cpu_option_parse(char *arg, const char **model, struct cpu_features *f);

/* The word of CPUID leaf/subleaf register reg (0 EAX .. 3 EDX), or -1 */
int cpuid_word_of(uint32_t leaf, uint32_t sub, unsigned reg);

/* The engine can give supported[w] in word w: one line per requested
 * feature it can't ("warning: WHO doesn't support requested feature:
 * CPUID.07H:EBX.avx2 [bit 5]", as QEMU says it), and 0; with enforce,
 * the first such line without "warning: ", and -1. */
int cpu_features_check(const struct cpu_features *f, const uint32_t supported[CPUID_WORDS],
		       const char *who);

/* Apply f to one CPUID result: remove the off bits and, where avail is
 * not NULL, add the on bits that avail (the same leaf's registers as the
 * engine can give them) has. */
void cpu_features_apply(const struct cpu_features *f, uint32_t leaf, uint32_t sub,
			uint32_t regs[4], const uint32_t avail[4]);

/* -cpu help: the flag names, after the models */
void cpu_features_print(void);

/* The bits of word w that have a name (the ones a model can set) */
uint32_t cpu_feature_named(unsigned w);

/* The QEMU name of word w's bit, or NULL */
const char *cpu_feature_name(unsigned w, unsigned bit);

/* Names separated by spaces ("fpu vme de") as bits; -1 on an unknown name */
int cpu_feature_list(const char *names, uint32_t bits[CPUID_WORDS]);

/* ------------------------------------------------------------------ */
/* Named models (cpu-models.c)                                         */

enum cpu_model_kind {
	CPU_MODEL_NAMED,                /* a fixed CPU: QEMU's definition */
	CPU_MODEL_MAX,                  /* everything the engine offers */
	CPU_MODEL_HOST,                 /* the host's CPU (KVM only) */
};

/* What the guest's CPUID says for -cpu MODEL,...: the model with -cpu's
 * changes.  For max and host only kind, want (the +FEAT bits) and the
 * overrides mean anything: the engine fills in the rest. */
struct cpu_def {
	enum cpu_model_kind kind;
	const char *name;
	char vendor[13];                /* leaf 0 EBX EDX ECX */
	char brand[48];                 /* leaves 0x80000002-4, NUL padded */
	uint32_t signature;             /* leaf 1 EAX */
	uint32_t level, xlevel;         /* the highest basic and extended leaf */
	uint32_t want[CPUID_WORDS];     /* the model's bits, -cpu's +/- applied */
	bool vendor_set, brand_set;     /* vendor=, model-id= (max, host too) */
	bool amd;                       /* vendor AuthenticAMD (or HygonGenuine) */
};

/* d for -cpu MODEL with f (NULL model: max); -1 for an unknown model. */
int cpu_def_init(struct cpu_def *d, const char *model, const struct cpu_features *f);

bool cpu_vendor_is_amd(const char *vendor);
/* cpu_def_init's amd, cheaper (for the SYSCALL/SYSENTER paths) */
bool cpu_model_amd(const char *model, const struct cpu_features *f);

/* The mask a CPUID register of word w gets: for a named model its bits
 * (and the engine's: ht, hypervisor, unnamed bits); else all but -FEAT */
uint32_t cpu_def_mask(const struct cpu_def *d, const struct cpu_features *f, unsigned w);

/* The XCR0 components the model's features allow (all for max, host) */
uint64_t cpu_def_xcr0(const struct cpu_def *d);

/* The model's features (not the +FEAT ones: cpu_features_check) that
 * supported lacks, but those in quiet (may be NULL): one line naming them
 * all ("warning: WHO doesn't support requested features of -cpu MODEL,
 * left out: ..."), 0; with enforce, the line without "warning: ", -1. */
int cpu_def_check(const struct cpu_def *d, const struct cpu_features *f,
		  const uint32_t supported[CPUID_WORDS], const uint32_t quiet[CPUID_WORDS],
		  const char *who);

/* Leaf 1 EAX for family, model, stepping (SDM Vol. 2A, figure 3-6) */
uint32_t cpu_signature(unsigned family, unsigned model, unsigned stepping);

/* The leaf 0x80000001 EDX bits AMD processors copy from leaf 1 EDX
 * (AMD APM Vol. 3, E.4.2: FPU..APIC, MTRR..PSE36, MMX, FXSR) */
#define CPUID_AMD_ALIASES 0x0183f3ffu

#endif

/*
 * -cpu MODEL[,+FEAT][,-FEAT][,FEAT=on|off][,enforce]: QEMU's syntax
 * (cpu-model.c).  The model name is checked by the engine (kvm-cpuid.c,
 * tcg/tcg.c); the features here, by their QEMU names, as CPUID bits.
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

#endif

/* Helpers for the TCG unit tests (tcgtest.h). */
#include <string.h>
#include "tcgtest.h"

bool tcg_env_init(struct tcg_env *e, uint64_t code)
{
	memset(e, 0, sizeof(*e));
	e->m = machine_new(TCGT_RAM);
	if (!e->m || machine_add_memory(e->m, REGION_RAM, 0, TCGT_RAM, e->m->ram, "ram") < 0)
		return false;
	e->c = tcg_cpu_new(e->m, NULL);
	e->code = code;
	return e->c != NULL;
}

void tcg_env_free(struct tcg_env *e)
{
	tcg_cpu_free(e->c);
	machine_free(e->m);
}

static void seg_flat(struct x86_segment *s, uint16_t sel, uint8_t type, unsigned dpl, bool l)
{
	*s = (struct x86_segment){ .base = 0, .limit = 0xffffffff, .selector = sel,
				   .type = type, .s = 1, .dpl = dpl, .present = 1,
				   .db = !l, .l = l, .g = 1 };
}

void tcg_env_flat_segs(struct tcg_cpu *c, unsigned cpl, bool l)
{
	for (int k = 0; k < S_NR; k++)
		seg_flat(&c->s.seg[k], 0x10 | cpl, 3, cpl, false);
	seg_flat(&c->s.seg[S_CS], 0x08 | cpl, 0xb, cpl, l);
}

void tcg_env_identity_map(struct tcg_env *e)
{
	uint64_t pml4e = (TCGT_PML4 + 0x1000) | 7, pdpte = (TCGT_PML4 + 0x2000) | 7;
	guest_write(e->m, TCGT_PML4, &pml4e, 8);
	guest_write(e->m, TCGT_PML4 + 0x1000, &pdpte, 8);
	for (uint64_t k = 0; k < TCGT_RAM >> 21; k++) {
		uint64_t pde = (k << 21) | 0x87;        /* present, writable, user, 2 MiB */
		guest_write(e->m, TCGT_PML4 + 0x2000 + k * 8, &pde, 8);
	}
}

void tcg_env_long_mode(struct tcg_env *e)
{
	struct tcg_cpu *c = e->c;
	tcg_env_identity_map(e);
	c->s.cr0 = CR0_PE | CR0_ET | CR0_PG;
	c->s.cr3 = TCGT_PML4;
	c->s.cr4 = CR4_PAE;
	c->s.efer = EFER_LME | EFER_LMA;
	tcg_tlb_flush_all(c);
}

int tcg_env_step_at(struct tcg_env *e, uint64_t lin, const uint8_t *b, unsigned n)
{
	guest_write(e->m, lin, b, n);
	e->c->s.rip = lin - e->c->s.seg[S_CS].base;
	e->last = lin;
	return tcg_step(e->c);
}

int tcg_env_step(struct tcg_env *e, const uint8_t *b, unsigned n)
{
	uint64_t lin = e->code;
	e->code += 32;
	return tcg_env_step_at(e, lin, b, n);
}

bool tcg_env_long_code(struct tcg_env *e, uint64_t lin, const uint8_t *code, size_t n,
		       bool jit)
{
	if (!tcg_env_init(e, lin))
		return false;
	tcg_env_long_mode(e);
	tcg_env_flat_segs(e->c, 0, true);
	guest_write(e->m, lin, code, n);
	e->c->s.rip = lin;
	tcg_set_jit(e->c, jit, 4);
	return true;
}

uint64_t tcg_env_get64(struct tcg_env *e, uint64_t gpa)
{
	uint64_t v = 0;
	guest_read(e->m, gpa, &v, 8);
	return v;
}

void tcg_env_put64(struct tcg_env *e, uint64_t gpa, uint64_t v)
{
	guest_write(e->m, gpa, &v, 8);
}

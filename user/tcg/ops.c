/*
 * The handler table: tcg_ops[map][opcode] is filled once by the handler
 * files' tcg_register_*() functions; the decoder stores the entry (or
 * tcg_op_ud for an empty slot) in each struct insn.
 */
#include <pthread.h>
#include "tcg/tcg.h"

tcg_handler tcg_ops[MAP_NR][256];
tcg_handler tcg_vex_ops[MAP_NR][256];

/* An undefined opcode, or an encoding this CPU does not support: #UD
 * (SDM Vol. 3, 6.15 "Interrupt 6-Invalid Opcode Exception"). */
void tcg_op_ud(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	tcg_raise(c, EXC_UD, NO_ERRCODE);
}

static pthread_once_t ops_once = PTHREAD_ONCE_INIT;

static void register_all(void)
{
	tcg_register_alu();
	tcg_register_branch();
	tcg_register_string();
	tcg_register_system();
	tcg_register_seg();
	tcg_register_fpu();
	tcg_register_sse();
	tcg_register_avx();
	tcg_register_bmi();
	tcg_register_crypto();
	tcg_register_avx2();
	tcg_register_avx2_mem();
	tcg_register_fma();
	tcg_register_f16c();
}

void tcg_ops_init(void)
{
	pthread_once(&ops_once, register_all);
}

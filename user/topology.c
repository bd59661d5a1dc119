/*
 * APIC IDs from the -smp topology.  An APIC ID is socket:core:thread with
 * each field as wide as needed for its count, rounded up to a power of
 * two (SDM Vol. 3, 10.4 "Identification of each logical processor"), the
 * layout CPUID leaves 1, 4 and 0xB describe.
 */
#include "config.h"
#include "cpu.h"

static unsigned bits_for(unsigned count)
{
	unsigned bits = 0;
	while ((1u << bits) < count)
		bits++;
	return bits;
}

unsigned topo_thread_bits(const struct config *cfg)
{
	return bits_for(cfg->threads);
}

unsigned topo_core_bits(const struct config *cfg)
{
	return bits_for(cfg->cores);
}

uint32_t topo_apic_id(const struct config *cfg, unsigned index)
{
	unsigned tb = topo_thread_bits(cfg), cb = topo_core_bits(cfg);
	unsigned thread = index % cfg->threads;
	unsigned core = index / cfg->threads % cfg->cores;
	unsigned socket = index / (cfg->threads * cfg->cores);
	return (socket << (cb + tb)) | (core << tb) | thread;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <capstone/capstone.h>
#include <stdbool.h>

#include "log.h"
#include "probesite.h"

/*
 * Instructions the kernel emulates under a uprobe (arch/x86/kernel/uprobes.c:
 * branch_setup_xol_ops and push_setup_xol_ops), by their encoding, since
 * the kernel looks at opcodes, not at what capstone calls them: the
 * one-byte nop 0x90, push of a register as 50+r or 41 50+r, and relative
 * call/jmp/jcc without an operand-size prefix (which the kernel refuses
 * to probe at all); not jrcxz or loop, which it single-steps.
 */
/* Read from the bytes: capstone 4 leaves detail->x86.prefix[] stale in a
 * reused cs_insn when an instruction has no prefix. */
static bool has_opsize_prefix(const cs_insn *insn)
{
	size_t i;

	for (i = 0; i < insn->size; i++) {
		uint8_t b = insn->bytes[i];

		if (b == 0x66)
			return true;
		/* legacy prefixes and REX; anything else is the opcode */
		if (!(b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 ||
		      b == 0x65 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 ||
		      (b >= 0x40 && b <= 0x4f)))
			return false;
	}
	return false;
}

static bool kernel_emulates(const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	const uint8_t *b = insn->bytes;
	bool one_imm = x->op_count == 1 && x->operands[0].type == X86_OP_IMM &&
		       !has_opsize_prefix(insn);

	switch (insn->id) {
	case X86_INS_NOP:
		return insn->size == 1 && b[0] == 0x90;
	case X86_INS_PUSH:
		return (insn->size == 1 && b[0] >= 0x50 && b[0] <= 0x57) ||
		       (insn->size == 2 && b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57);
	case X86_INS_CALL:
	case X86_INS_JMP:
	case X86_INS_JA: case X86_INS_JAE: case X86_INS_JB: case X86_INS_JBE:
	case X86_INS_JE: case X86_INS_JNE: case X86_INS_JG: case X86_INS_JGE:
	case X86_INS_JL: case X86_INS_JLE: case X86_INS_JO: case X86_INS_JNO:
	case X86_INS_JP: case X86_INS_JNP: case X86_INS_JS: case X86_INS_JNS:
		return one_imm;
	default:
		return false;
	}
}

/* True when executing insn changes nothing but the flags. */
static bool only_writes_flags(csh h, const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	cs_regs rd, wr;
	uint8_t nrd, nwr, i;

	/* test only ANDs for the flags; capstone 4 reports some of its forms
	 * (test $imm,%al; testb $imm,(mem)) as writing their operand */
	if (insn->id == X86_INS_ENDBR64 || insn->id == X86_INS_TEST)
		return true;
	if (insn->id != X86_INS_TEST && insn->id != X86_INS_CMP)
		return false;
	if (cs_regs_access(h, insn, rd, &nrd, wr, &nwr))
		return false;
	for (i = 0; i < nwr; i++) {
		if (wr[i] != X86_REG_EFLAGS)
			return false;
	}
	for (i = 0; i < x->op_count; i++) {
		if (x->operands[i].type == X86_OP_MEM && (x->operands[i].access & CS_AC_WRITE))
			return false;
	}
	return true;
}

size_t probe_site_in_code(const uint8_t *code, size_t len)
{
	const uint8_t *p = code;
	uint64_t addr = 0;
	size_t site = 0, left = len;
	cs_insn *insn;
	csh h;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return 0;
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	insn = cs_malloc(h);
	if (!insn)
		goto cleanup;
	/* at most a few instructions: glibc needs one skipped */
	for (int i = 0; i < 4; i++) {
		size_t at = (size_t)addr;

		if (!cs_disasm_iter(h, &p, &left, &addr, insn))
			break;
		if (kernel_emulates(insn)) {
			site = at;
			break;
		}
		if (!only_writes_flags(h, insn))
			break;
	}
	cs_free(insn, 1);
cleanup:
	cs_close(&h);
	return site;
}

uint64_t probe_site_choose(struct elf_file *ef, const struct elf_func *func)
{
	uint8_t code[64];
	size_t len = sizeof(code);
	int n;

	if (func->size && func->size < len)
		len = func->size;
	n = elf_file__read(ef, func->file_offset, code, len);
	if (n <= 0)
		return func->file_offset;
	return func->file_offset + probe_site_in_code(code, (size_t)n);
}

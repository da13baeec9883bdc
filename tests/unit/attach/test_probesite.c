// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Where entry probes go: probe_site_in_code() on hand-assembled
 * instruction sequences, then on the real glibc of this machine.
 *
 * The ground truth for "the kernel emulates it" is arch/x86/kernel/
 * uprobes.c: branch_setup_xol_ops() takes nop, jmp rel8/rel32, call rel32
 * and jcc rel8/rel32, and refuses (-ENOTSUPP: the probe cannot be placed)
 * any of them with a 0x66 prefix; push_setup_xol_ops() takes push 50+r
 * alone or after a 0x41 REX prefix, nothing else; every other
 * instruction is single-stepped.  The ground truth for "only writes
 * flags" is the instruction set: test and cmp set flags and write
 * nothing else, endbr64 changes nothing.
 */
#include <capstone/capstone.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "elfsym.h"
#include "probesite.h"

#define LIBC_PATH "/lib/x86_64-linux-gnu/libc.so.6"

/* "48 85 ff", for messages. */
static const char *hex(const uint8_t *code, size_t len)
{
	static char buf[3 * 64 + 1];
	size_t used = 0, i;

	buf[0] = '\0';
	for (i = 0; i < len && i < 64; i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%02x", i ? " " : "",
					 code[i]);
	return buf;
}

/* "+0 test rdi, rdi; +3 je 0xc5; ...", with capstone, for messages. */
static const char *disasm(const uint8_t *code, size_t len)
{
	static char buf[2048];
	size_t used = 0, count, i;
	cs_insn *insn;
	csh h;

	buf[0] = '\0';
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return "(capstone unavailable)";
	count = cs_disasm(h, code, len, 0, 0, &insn);
	for (i = 0; i < count && used < sizeof(buf); i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s+%u %s %s",
					 i ? "; " : "", (unsigned int)insn[i].address,
					 insn[i].mnemonic, insn[i].op_str);
	if (count)
		cs_free(insn, count);
	cs_close(&h);
	return count ? buf : "(does not decode)";
}

static void expect_site(size_t want, const uint8_t *code, size_t len, const char *why)
{
	size_t got = probe_site_in_code(code, len);

	cr_assert_eq(got, want, "%s\n  code: %s\n  disassembly: %s\n  site %zu, expected %zu",
		     why, hex(code, len), disasm(code, len), got, want);
}

/* EXPECT_SITE(offset, "why", byte, byte, ...) */
#define EXPECT_SITE(want, why, ...)						\
	expect_site(want, (const uint8_t[]){ __VA_ARGS__ },			\
		    sizeof((const uint8_t[]){ __VA_ARGS__ }), why)

/* test %rdi,%rdi: the flags-only instruction most tests start with. */
#define TEST_RDI 0x48, 0x85, 0xff

/* ---- glibc 2.36's prologues ---- */

Test(probesite, glibc_free_moves_past_test)
{
	EXPECT_SITE(3, "free: test %rdi,%rdi; je rel32; push %rbp -> at the je",
		    TEST_RDI, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00, 0x55);
}

Test(probesite, glibc_malloc_push_at_entry)
{
	EXPECT_SITE(0, "malloc: push %r12 (41 54) is emulated at entry",
		    0x41, 0x54, 0x55, 0x53);
}

Test(probesite, glibc_posix_memalign_moves_past_rip_relative_cmpb)
{
	EXPECT_SITE(7, "posix_memalign: cmpb $0x0,disp(%rip) only reads memory; push %r12",
		    0x80, 0x3d, 0x01, 0x02, 0x14, 0x00, 0x00, 0x41, 0x54);
}

Test(probesite, glibc_reallocarray_mov_stays_at_entry)
{
	EXPECT_SITE(0, "reallocarray: mov %rsi,%rax writes a register",
		    0x48, 0x89, 0xf0, 0x48, 0xf7, 0xe2);
}

Test(probesite, endbr64_then_push)
{
	EXPECT_SITE(4, "endbr64 changes nothing; push %rbp", 0xf3, 0x0f, 0x1e, 0xfa, 0x55);
	EXPECT_SITE(7, "endbr64; test; je rel8", 0xf3, 0x0f, 0x1e, 0xfa, TEST_RDI, 0x74, 0x00);
}

/* ---- what may be skipped ---- */

Test(probesite, register_write_stops_the_scan)
{
	EXPECT_SITE(0, "test; mov %rdi,%rax (writes rax)", TEST_RDI, 0x48, 0x89, 0xf8);
	/* the push after the mov must not be reached */
	EXPECT_SITE(0, "test; mov %rdi,%rax; push %rbp", TEST_RDI, 0x48, 0x89, 0xf8, 0x55);
	EXPECT_SITE(0, "test; and %rdi,%rax; je", TEST_RDI, 0x48, 0x21, 0xf8, 0x74, 0x00);
	EXPECT_SITE(0, "test; sub $8,%rsp; push", TEST_RDI, 0x48, 0x83, 0xec, 0x08, 0x55);
}

Test(probesite, test_cmp_chain_then_jcc)
{
	EXPECT_SITE(6, "test %rdi,%rdi; cmp %rsi,%rdi; je rel8",
		    TEST_RDI, 0x48, 0x39, 0xf7, 0x74, 0x05);
	EXPECT_SITE(4, "cmp $0x0,%rdi (imm8); je rel8", 0x48, 0x83, 0xff, 0x00, 0x74, 0x00);
	EXPECT_SITE(3, "test %dil,%dil (REX 0x40); jne rel8", 0x40, 0x84, 0xff, 0x75, 0x00);
	EXPECT_SITE(3, "test; jle rel8", TEST_RDI, 0x7e, 0x00);
	EXPECT_SITE(3, "test; jle rel32", TEST_RDI, 0x0f, 0x8e, 0x00, 0x00, 0x00, 0x00);
}

Test(probesite, cmp_with_memory_operand_only_reads)
{
	EXPECT_SITE(3, "cmp (%rdi),%rax; jne", 0x48, 0x3b, 0x07, 0x75, 0x02);
	/* memory as the first operand: still only read */
	EXPECT_SITE(3, "cmp %rax,(%rdi); jne", 0x48, 0x39, 0x07, 0x75, 0x02);
	EXPECT_SITE(3, "cmpb $0x0,(%rdi); jne", 0x80, 0x3f, 0x00, 0x75, 0x02);
}

/*
 * The scan looks at 4 instructions at most: an emulated 4th is taken, an
 * emulated 5th is not (the probe stays at entry), whatever came before.
 */
Test(probesite, scan_stops_after_four_instructions)
{
	EXPECT_SITE(9, "3 x test; je: the je is the 4th instruction",
		    TEST_RDI, TEST_RDI, TEST_RDI, 0x74, 0x00);
	EXPECT_SITE(0, "4 x test; je: the je is the 5th instruction",
		    TEST_RDI, TEST_RDI, TEST_RDI, TEST_RDI, 0x74, 0x00);
	EXPECT_SITE(10, "endbr64; 2 x test; je: endbr64 counts as one",
		    0xf3, 0x0f, 0x1e, 0xfa, TEST_RDI, TEST_RDI, 0x74, 0x00);
	EXPECT_SITE(0, "endbr64; 3 x test; je",
		    0xf3, 0x0f, 0x1e, 0xfa, TEST_RDI, TEST_RDI, TEST_RDI, 0x74, 0x00);
}

/* ---- too little code ---- */

Test(probesite, empty_and_truncated_code)
{
	static const uint8_t free_prologue[] = { TEST_RDI, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00 };

	cr_assert_eq(probe_site_in_code(free_prologue, 0), 0, "len 0");
	cr_assert_eq(probe_site_in_code(free_prologue, 2), 0, "2 bytes of a 3-byte test");
	cr_assert_eq(probe_site_in_code(free_prologue, 3), 0,
		     "a test and nothing after it: nothing emulated to move to");
	cr_assert_eq(probe_site_in_code(free_prologue, 7), 0,
		     "the je's rel32 cut short: it does not decode");
	/* the same bytes whole, so that the cases above can fail */
	cr_assert_eq(probe_site_in_code(free_prologue, sizeof(free_prologue)), 3, "whole");
}

Test(probesite, undecodable_code_stays_at_entry)
{
	EXPECT_SITE(0, "test; 0f 0b is ud2 (not emulated)", TEST_RDI, 0x0f, 0x0b);
	EXPECT_SITE(0, "test; 0xd6 does not decode in 64-bit mode", TEST_RDI, 0xd6, 0x74, 0x00);
}

/* ---- what the kernel emulates ---- */

Test(probesite, emulated_first_instruction_is_entry)
{
	EXPECT_SITE(0, "nop first", 0x90, 0x55);
	EXPECT_SITE(0, "jmp rel32 first", 0xe9, 0x10, 0x00, 0x00, 0x00);
	EXPECT_SITE(0, "call rel32 first", 0xe8, 0x10, 0x00, 0x00, 0x00);
	EXPECT_SITE(0, "push %rbp first", 0x55, TEST_RDI, 0x74, 0x00);
}

/* The cases above return 0 either way: these show each one is emulated. */
Test(probesite, emulated_after_test)
{
	EXPECT_SITE(3, "test; nop", TEST_RDI, 0x90);
	EXPECT_SITE(3, "test; jmp rel8", TEST_RDI, 0xeb, 0x00);
	EXPECT_SITE(3, "test; jmp rel32", TEST_RDI, 0xe9, 0x10, 0x00, 0x00, 0x00);
	EXPECT_SITE(3, "test; call rel32", TEST_RDI, 0xe8, 0x10, 0x00, 0x00, 0x00);
	EXPECT_SITE(3, "test; push %rbp", TEST_RDI, 0x55);
	EXPECT_SITE(3, "test; push %rax", TEST_RDI, 0x50);
	EXPECT_SITE(3, "test; push %r15 (41 57)", TEST_RDI, 0x41, 0x57);
}

Test(probesite, single_stepped_after_test)
{
	EXPECT_SITE(0, "test; push of a memory operand (ff 35 rip-relative)",
		    TEST_RDI, 0xff, 0x35, 0x00, 0x00, 0x00, 0x00);
	EXPECT_SITE(0, "test; push $0 (6a 00)", TEST_RDI, 0x6a, 0x00);
	EXPECT_SITE(0, "test; jmp *%rax", TEST_RDI, 0xff, 0xe0);
	EXPECT_SITE(0, "test; call *%rax", TEST_RDI, 0xff, 0xd0);
	EXPECT_SITE(0, "test; jrcxz", TEST_RDI, 0xe3, 0x00);
	EXPECT_SITE(0, "test; loop", TEST_RDI, 0xe2, 0x00);
	EXPECT_SITE(0, "test; ret", TEST_RDI, 0xc3);
}

/*
 * push_setup_xol_ops() takes only the one-byte 50+r form, or 41 50+r: the
 * same push %rbp encoded as ff f5, or with a 0x66 or another REX prefix,
 * is single-stepped, so the probe should stay at entry.
 */
Test(probesite, push_encodings_the_kernel_single_steps)
{
	EXPECT_SITE(0, "test; push %rbp encoded ff f5", TEST_RDI, 0xff, 0xf5);
	EXPECT_SITE(0, "test; push %bp (66 55)", TEST_RDI, 0x66, 0x55);
	EXPECT_SITE(0, "test; push %rbp with REX.W (48 55)", TEST_RDI, 0x48, 0x55);
	EXPECT_SITE(0, "test; push %rbp with REX 40 (40 55)", TEST_RDI, 0x40, 0x55);
}

/*
 * A branch with a 0x66 prefix is refused outright (-ENOTSUPP: Intel and
 * AMD decode it differently), so a probe there is never placed; checked on
 * this machine's kernel 6.18, perf_event_open fails with errno 524.
 */
Test(probesite, branches_the_kernel_refuses)
{
	EXPECT_SITE(0, "test; je rel8 with 0x66 prefix", TEST_RDI, 0x66, 0x74, 0x00);
	EXPECT_SITE(0, "test; je rel16 (66 0f 84)", TEST_RDI, 0x66, 0x0f, 0x84, 0x00, 0x00);
	EXPECT_SITE(0, "test; jmp rel16 (66 e9)", TEST_RDI, 0x66, 0xe9, 0x00, 0x00);
	EXPECT_SITE(0, "test; call rel16 (66 e8)", TEST_RDI, 0x66, 0xe8, 0x00, 0x00);
}

/* test writes only the flags, whatever its operand forms. */
Test(probesite, test_forms_write_only_flags)
{
	EXPECT_SITE(2, "test $1,%al (a8 01); je", 0xa8, 0x01, 0x74, 0x00);
	EXPECT_SITE(6, "test $1,%rax (48 a9 imm32); je",
		    0x48, 0xa9, 0x01, 0x00, 0x00, 0x00, 0x74, 0x00);
	EXPECT_SITE(3, "testb $1,(%rdi) (f6 07 01); je", 0xf6, 0x07, 0x01, 0x74, 0x00);
	EXPECT_SITE(3, "test $1,%cl (f6 c1 01); je", 0xf6, 0xc1, 0x01, 0x74, 0x00);
}

/* ---- the real glibc ---- */

struct libc_func {
	uint64_t vaddr;
	uint64_t offset;	/* in the file */
	uint8_t code[16];
};

/*
 * NAME's entry in libc's .dynsym and its first bytes, read with libelf
 * directly rather than through elfsym.c, whose answer is checked below.
 */
static struct libc_func libc_lookup(const char *name)
{
	struct libc_func f = { 0 };
	Elf_Scn *scn = NULL;
	size_t nphdr, i;
	bool found = false;
	Elf *elf;
	int fd;

	cr_assert_neq(elf_version(EV_CURRENT), EV_NONE, "libelf: %s", elf_errmsg(-1));
	fd = open(LIBC_PATH, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0, "%s: %s (these tests expect Debian 12 on x86-64)", LIBC_PATH,
		  strerror(errno));
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert(elf, "%s: %s", LIBC_PATH, elf_errmsg(-1));
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data = elf_getdata(scn, NULL);
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !data)
			continue;
		for (i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			const char *sym_name;
			GElf_Sym sym;

			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(sym.st_info) != STT_FUNC)
				continue;
			sym_name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!sym_name || strcmp(sym_name, name))
				continue;
			cr_assert(!found || f.vaddr == sym.st_value,
				  "%s: two %s at 0x%lx and 0x%lx", LIBC_PATH, name,
				  (unsigned long)f.vaddr, (unsigned long)sym.st_value);
			f.vaddr = sym.st_value;
			found = true;
		}
	}
	cr_assert(found, "%s has no function %s in .dynsym", LIBC_PATH, name);

	cr_assert_eq(elf_getphdrnum(elf, &nphdr), 0, "%s: %s", LIBC_PATH, elf_errmsg(-1));
	found = false;
	for (i = 0; i < nphdr && !found; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    f.vaddr >= ph.p_vaddr && f.vaddr < ph.p_vaddr + ph.p_filesz) {
			f.offset = f.vaddr - ph.p_vaddr + ph.p_offset;
			found = true;
		}
	}
	cr_assert(found, "%s: %s at 0x%lx is in no PT_LOAD segment", LIBC_PATH, name,
		  (unsigned long)f.vaddr);
	cr_assert_eq(pread(fd, f.code, sizeof(f.code), (off_t)f.offset), (ssize_t)sizeof(f.code),
		     "%s: reading %s's code failed", LIBC_PATH, name);
	elf_end(elf);
	close(fd);
	return f;
}

/*
 * The prologue this machine's glibc should have: bytes that must match,
 * where mask is 0xff.  Anything else is not the glibc 2.36 of Debian 12.
 */
static void expect_prologue(const char *name, const struct libc_func *f, const uint8_t *want,
			    const uint8_t *mask, size_t len)
{
	char expected[3 * 16 + 1] = "";	/* "41 54 ?? ..." */
	size_t used = 0;

	for (size_t i = 0; i < len && i < 16; i++)
		used += (size_t)snprintf(expected + used, sizeof(expected) - used,
					 mask[i] ? "%s%02x" : "%s??", i ? " " : "", want[i]);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(f->code[i] & mask[i], want[i] & mask[i],
			     "%s in %s (glibc %s) does not start like glibc 2.36's on Debian 12 "
			     "(byte %zu):\n  code: %s\n  disassembly: %s\n  expected: %s",
			     name, LIBC_PATH, gnu_get_libc_version(), i,
			     hex(f->code, sizeof(f->code)), disasm(f->code, sizeof(f->code)),
			     expected);
}

/* The site in the bytes, and what probe_site_choose() makes of the symbol. */
static void expect_libc_site(const char *name, size_t want)
{
	struct libc_func f = libc_lookup(name);
	struct elf_func fn;
	struct elf_file *ef;
	uint64_t chosen;

	cr_assert_eq(probe_site_in_code(f.code, sizeof(f.code)), want,
		     "%s: site in %s\n  disassembly: %s", name, hex(f.code, sizeof(f.code)),
		     disasm(f.code, sizeof(f.code)));

	ef = elf_file__open(LIBC_PATH);
	cr_assert(ef, "elf_file__open(%s): %s", LIBC_PATH, strerror(errno));
	cr_assert_eq(elf_file__find_func(ef, name, &fn), 0, "elf_file__find_func(%s)", name);
	cr_assert_eq(fn.file_offset, f.offset, "%s: elfsym says file offset 0x%lx, libelf 0x%lx",
		     name, (unsigned long)fn.file_offset, (unsigned long)f.offset);
	chosen = probe_site_choose(ef, &fn);
	elf_file__close(ef);
	cr_assert_eq(chosen, f.offset + want, "%s: probe at 0x%lx, expected entry 0x%lx + %zu",
		     name, (unsigned long)chosen, (unsigned long)f.offset, want);
}

Test(probesite, real_glibc_free_at_entry_plus_3)
{
	/* test %rdi,%rdi; je rel32 (its target may move between builds); push %rbp */
	static const uint8_t want[] = { TEST_RDI, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00, 0x55 };
	static const uint8_t mask[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xff };
	struct libc_func f = libc_lookup("free");

	expect_prologue("free", &f, want, mask, sizeof(want));
	expect_libc_site("free", 3);
}

Test(probesite, real_glibc_malloc_at_entry)
{
	/* push %r12; push %rbp; push %rbx */
	static const uint8_t want[] = { 0x41, 0x54, 0x55, 0x53 };
	static const uint8_t mask[] = { 0xff, 0xff, 0xff, 0xff };
	struct libc_func f = libc_lookup("malloc");

	expect_prologue("malloc", &f, want, mask, sizeof(want));
	expect_libc_site("malloc", 0);
}

Test(probesite, real_glibc_posix_memalign_at_entry_plus_7)
{
	/* cmpb $0x0,disp32(%rip) (disp32 may move between builds); push %r12 */
	static const uint8_t want[] = { 0x80, 0x3d, 0x01, 0x02, 0x14, 0x00, 0x00, 0x41, 0x54 };
	static const uint8_t mask[] = { 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff };
	struct libc_func f = libc_lookup("posix_memalign");

	expect_prologue("posix_memalign", &f, want, mask, sizeof(want));
	expect_libc_site("posix_memalign", 7);
}

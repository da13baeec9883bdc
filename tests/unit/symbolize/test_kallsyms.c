// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The /proc/kallsyms parser and lookups of user/symbolize/kallsyms.c (--kernel). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kallsyms.h"

/* Out of order, with data symbols, aliases, modules and a bad line, as
 * the real file mixes them. */
static const char sample[] =
	"ffffffff81000000 T _stext\n"
	"ffffffff81002000 t do_one_initcall\n"
	"ffffffff81001000 T startup_64\n"
	"ffffffff82000000 D init_task\n"
	"ffffffff82100000 b some_bss\n"
	"ffffffff81003000 W weak_fn\n"
	"ffffffff81004000 T alias_b\n"
	"ffffffff81004000 T alias_a\n"
	"not a line at all\n"
	"ffffffffc0001000 t nft_do_chain\t[nf_tables]\n"
	"ffffffffc0001800 t nft_lookup\t[nf_tables]\n"
	"ffffffffc0002000 d nft_data\t[nf_tables]\n"
	"ffffffffc0003000 t ext4_fill\t[ext4]\n"
	"ffffffffc0004000 t bpf_prog_0123456789abcdef_lw_kmalloc\t[bpf]\n";

static struct kallsyms *parse(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct kallsyms *k;

	cr_assert(f);
	k = kallsyms__parse(f);
	fclose(f);
	return k;
}

static void expect(const struct kallsyms *k, uint64_t addr, const char *name,
		   uint64_t offset, const char *module)
{
	uint64_t off = ~0ull;
	const struct ksym *s = kallsyms__lookup(k, addr, &off);

	cr_assert(s, "%#llx: no symbol", (unsigned long long)addr);
	cr_assert_str_eq(s->name, name, "%#llx", (unsigned long long)addr);
	cr_assert_eq(off, offset, "%#llx: offset %llu", (unsigned long long)addr,
		     (unsigned long long)off);
	cr_assert_str_eq(s->module, module, "%#llx", (unsigned long long)addr);
}

Test(kallsyms, keeps_text_symbols_only)
{
	struct kallsyms *k = parse(sample);

	cr_assert(k, "parse failed: %s", strerror(errno));
	/* _stext startup_64 do_one_initcall weak_fn alias_a alias_b
	 * nft_do_chain nft_lookup ext4_fill bpf_prog_...: 10 */
	cr_assert_eq(kallsyms__count(k), 10);
	kallsyms__free(k);
}

Test(kallsyms, lookup_kernel)
{
	struct kallsyms *k = parse(sample);

	cr_assert(k);
	expect(k, 0xffffffff81000000ull, "_stext", 0, "[kernel]");
	expect(k, 0xffffffff81000fffull, "_stext", 0xfff, "[kernel]");
	expect(k, 0xffffffff81001000ull, "startup_64", 0, "[kernel]");
	expect(k, 0xffffffff8100203bull, "do_one_initcall", 0x3b, "[kernel]");
	expect(k, 0xffffffff81003010ull, "weak_fn", 0x10, "[kernel]");
	/* a data symbol does not end the function before it, but the last
	 * function of the kernel spans 64 KiB at most */
	expect(k, 0xffffffff8100ffffull, "alias_a", 0xbfff, "[kernel]");
	expect(k, 0xffffffff81013fffull, "alias_a", 0xffff, "[kernel]");
	cr_assert_null(kallsyms__lookup(k, 0xffffffff81014000ull, NULL));
	cr_assert_null(kallsyms__lookup(k, 0xffffffff82000010ull, NULL));
	kallsyms__free(k);
}

Test(kallsyms, aliases_resolve_to_the_first_name)
{
	struct kallsyms *k = parse(sample);

	cr_assert(k);
	expect(k, 0xffffffff81004000ull, "alias_a", 0, "[kernel]");
	expect(k, 0xffffffff81004123ull, "alias_a", 0x123, "[kernel]");
	kallsyms__free(k);
}

Test(kallsyms, lookup_modules)
{
	struct kallsyms *k = parse(sample);
	const struct ksym *a, *b;

	cr_assert(k);
	expect(k, 0xffffffffc0001010ull, "nft_do_chain", 0x10, "nf_tables");
	expect(k, 0xffffffffc0002fffull, "nft_lookup", 0x17ff, "nf_tables");
	expect(k, 0xffffffffc0003004ull, "ext4_fill", 4, "ext4");
	expect(k, 0xffffffffc0004008ull, "bpf_prog_0123456789abcdef_lw_kmalloc", 8, "bpf");
	/* within a module, up to the next symbol; past its last, 64 KiB */
	expect(k, 0xffffffffc0002fffull, "nft_lookup", 0x17ff, "nf_tables");
	cr_assert_null(kallsyms__lookup(k, 0xffffffffc0014000ull, NULL));
	/* one copy of a module's name for all its symbols */
	a = kallsyms__lookup(k, 0xffffffffc0001000ull, NULL);
	b = kallsyms__lookup(k, 0xffffffffc0001800ull, NULL);
	cr_assert(a && b && a->module == b->module);
	kallsyms__free(k);
}

Test(kallsyms, below_the_first_symbol)
{
	struct kallsyms *k = parse(sample);
	uint64_t off = 7;

	cr_assert(k);
	cr_assert_null(kallsyms__lookup(k, 0xffffffff80ffffffull, &off));
	cr_assert_null(kallsyms__lookup(k, 0, &off));
	cr_assert_eq(off, 7, "offset untouched on a miss");
	kallsyms__free(k);
}

/* What an unprivileged reader sees (kptr_restrict): names, no addresses. */
Test(kallsyms, hidden_addresses_are_eperm)
{
	static const char hidden[] =
		"0000000000000000 T _stext\n"
		"0000000000000000 t do_one_initcall\n"
		"0000000000000000 t nft_do_chain\t[nf_tables]\n";

	errno = 0;
	cr_assert_null(parse(hidden));
	cr_assert_eq(errno, EPERM, "errno %d", errno);
}

Test(kallsyms, no_text_symbol_is_enoent)
{
	errno = 0;
	cr_assert_null(parse("ffffffff82000000 D init_task\n"));
	cr_assert_eq(errno, ENOENT, "errno %d", errno);
	errno = 0;
	cr_assert_null(parse(""));
	cr_assert_eq(errno, ENOENT, "errno %d", errno);
}

/* The running kernel's table, when this process may read it. */
Test(kallsyms, live_table_resolves_itself)
{
	struct kallsyms *k = kallsyms__load();
	unsigned long long addr = 0;
	char type, name[128] = "";
	const struct ksym *s;
	uint64_t off;
	FILE *f;

	if (!k) {
		cr_assert(errno == EPERM || errno == ENOENT, "kallsyms__load: %s",
			  strerror(errno));
		/* CI runs as root: there, hidden addresses are a failure */
		cr_assert(!getenv("CI") || strcmp(getenv("CI"), "true"),
			  "/proc/kallsyms shows no addresses, and CI=true: run as root");
		cr_skip_test("/proc/kallsyms shows no addresses to this user "
			     "(under CI=true this fails instead)");
	}
	cr_assert_gt(kallsyms__count(k), 1000);
	/* schedule is in every kernel, under that one name */
	f = fopen("/proc/kallsyms", "r");
	cr_assert(f);
	while (fscanf(f, "%llx %c %127s%*[^\n]", &addr, &type, name) == 3 &&
	       strcmp(name, "schedule"))
		;
	fclose(f);
	cr_assert_str_eq(name, "schedule");
	s = kallsyms__lookup(k, addr + 4, &off);
	cr_assert(s, "schedule+4 not found");
	cr_assert_str_eq(s->name, "schedule");
	cr_assert_eq(off, 4);
	cr_assert_str_eq(s->module, "[kernel]");
	kallsyms__free(k);
}

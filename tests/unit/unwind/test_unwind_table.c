// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unwind table tests against programs built at test time, without frame
 * pointers as distributions build, and against the system's libc.  The
 * ground truth is binutils' own reading of the same CFI: `readelf
 * --debug-dump=frames-interp` prints every FDE's rows (CFA rule, where
 * rbp and the return address are), an implementation independent of
 * libdw.  Every row it prints must be what unwind_table__find gives at
 * the row's first and last byte.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unwind_table.h"

/* alloca and a variable-length array give a frame that rbp anchors, a big
 * array a large rsp offset; the functions take input from argc so that
 * the compiler keeps them as they are. */
static const char prog_src[] =
	"#include <alloca.h>\n"
	"#include <stdio.h>\n"
	"#include <stdlib.h>\n"
	"#include <string.h>\n"
	"__attribute__((noinline)) int with_alloca(int n)\n"
	"{\n"
	"	char *p = alloca(n);\n"
	"	memset(p, 1, n);\n"
	"	return p[n / 2] + n;\n"
	"}\n"
	"__attribute__((noinline)) int with_vla(int n)\n"
	"{\n"
	"	char v[n];\n"
	"	memset(v, 2, n);\n"
	"	return v[n / 3] + with_alloca(n);\n"
	"}\n"
	"__attribute__((noinline)) int big_frame(int n)\n"
	"{\n"
	"	volatile char buf[100000];\n"
	"	buf[n] = 1;\n"
	"	return buf[n / 2];\n"
	"}\n"
	"__attribute__((noinline)) int saves(int a, int b, int c)\n"
	"{\n"
	"	int x = rand(), y = rand(), z = rand();\n"
	"	return x * a + y * b + z * c + rand();\n"
	"}\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"	printf(\"%d\\n\", with_vla(argc * 100) + big_frame(argc) +\n"
	"	       saves(argc, 2, 3) + (int)strlen(argv[0]));\n"
	"	return 0;\n"
	"}\n";

static char dir[] = "/tmp/lw-unwind-XXXXXX";

/* Build prog_src with flags into dir/name; returns its path. */
static char *build(const char *name, const char *flags)
{
	char *src, *out, *cmd;
	FILE *f;

	cr_assert_eq(asprintf(&src, "%s/prog.c", dir) > 0, true);
	f = fopen(src, "w");
	cr_assert_not_null(f);
	fputs(prog_src, f);
	fclose(f);
	cr_assert_eq(asprintf(&out, "%s/%s", dir, name) > 0, true);
	cr_assert_eq(asprintf(&cmd, "cc %s %s -o %s", flags, src, out) > 0, true);
	cr_assert_eq(system(cmd), 0, "%s failed", cmd);
	free(cmd);
	free(src);
	return out;
}

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char *cmd;

	if (asprintf(&cmd, "rm -rf %s", dir) > 0) {
		if (system(cmd)) {
		}
		free(cmd);
	}
}

TestSuite(unwind_table, .init = setup, .fini = teardown);

static struct unwind_table *table_of(const char *path)
{
	struct unwind_table *t;
	int fd = open(path, O_RDONLY);

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	t = unwind_table__new(fd);
	close(fd);
	cr_assert_not_null(t, "%s: %s", path, strerror(errno));
	return t;
}

/* A row of readelf's, as the walker must see it. */
struct want {
	uint64_t lo, hi;	/* [lo, hi) */
	struct lw_urow row;	/* kind, cfa_off, rbp_off; pc unused */
	bool plt;		/* an expression: binutils' PLT one */
};

/* One row of `readelf --debug-dump=frames-interp` (cols: the column
 * names after LOC) into w; signal: its CIE has the 'S' augmentation. */
static void parse_row(char **cols, size_t ncols, char *line, bool signal, struct want *w)
{
	char *tok, *save = NULL;
	size_t c = 0;

	char *q;

	/* "r3 (rbx)": a register rule names the register after a space */
	while ((q = strstr(line, " ("))) {
		char *e = strchr(q, ')');

		if (!e)
			break;
		memmove(q, e + 1, strlen(e + 1) + 1);
	}
	memset(w, 0, sizeof(*w));
	w->row.kind = LW_UROW_NONE;
	tok = strtok_r(line, " \t\n", &save);	/* LOC */
	w->lo = strtoull(tok, NULL, 16);
	while ((tok = strtok_r(NULL, " \t\n", &save)) && c < ncols) {
		const char *col = cols[c++];

		if (!strcmp(col, "CFA")) {
			if (!strncmp(tok, "rsp+", 4)) {
				w->row.kind = LW_UROW_RSP;
				w->row.cfa_off = atoi(tok + 4);
			} else if (!strncmp(tok, "rbp+", 4)) {
				w->row.kind = LW_UROW_RBP;
				w->row.cfa_off = atoi(tok + 4);
			} else if (!strcmp(tok, "exp")) {
				w->plt = true;
			}
		} else if (!strcmp(col, "rbp") && !strncmp(tok, "c-", 2)) {
			w->row.rbp_off = (int16_t)-atoi(tok + 2);
		} else if (!strcmp(col, "ra")) {
			if (!strcmp(tok, "u"))
				w->row.kind = LW_UROW_END;
			else if (strcmp(tok, "c-8"))
				w->row.kind = LW_UROW_NONE;
		}
	}
	if (signal)
		w->row.kind = LW_UROW_SIGNAL;
	if (w->row.kind == LW_UROW_SIGNAL || w->row.kind == LW_UROW_END ||
	    w->row.kind == LW_UROW_NONE)
		w->row.cfa_off = w->row.rbp_off = 0;
}

static void check(const struct unwind_table *t, const struct want *w, uint64_t addr,
		  uint64_t plt_lo, uint64_t plt_hi, size_t *checked)
{
	const struct lw_urow *r = unwind_table__find(t, addr);

	cr_assert_not_null(r, "no row at %#lx", (unsigned long)addr);
	if (w->plt && w->row.kind != LW_UROW_SIGNAL) {
		/* only the PLT's expression is followed; others are NONE */
		if (addr >= plt_lo && addr < plt_hi) {
			cr_expect_eq(r->kind, LW_UROW_PLT, "PLT at %#lx: kind %d",
				     (unsigned long)addr, r->kind);
			cr_expect_eq(r->cfa_off, 8);
			cr_expect_eq(r->plt_cut, 11);
		}
		(*checked)++;
		return;
	}
	cr_expect_eq(r->kind, w->row.kind, "kind at %#lx: %d, readelf %d", (unsigned long)addr,
		     r->kind, w->row.kind);
	if (r->kind == LW_UROW_RSP || r->kind == LW_UROW_RBP) {
		cr_expect_eq(r->cfa_off, w->row.cfa_off, "cfa at %#lx: %d, readelf %d",
			     (unsigned long)addr, r->cfa_off, w->row.cfa_off);
		cr_expect_eq(r->rbp_off, w->row.rbp_off, "rbp at %#lx: %d, readelf %d",
			     (unsigned long)addr, r->rbp_off, w->row.rbp_off);
	}
	(*checked)++;
}

/* The address range of section name, or [0, 0). */
static void section_range(const char *path, const char *name, uint64_t *lo, uint64_t *hi)
{
	int fd = open(path, O_RDONLY);
	Elf *elf;
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	*lo = *hi = 0;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert_not_null(elf);
	cr_assert_eq(elf_getshdrstrndx(elf, &shstrndx), 0);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		gelf_getshdr(scn, &sh);
		if (!strcmp(elf_strptr(elf, shstrndx, sh.sh_name), name)) {
			*lo = sh.sh_addr;
			*hi = sh.sh_addr + sh.sh_size;
		}
	}
	elf_end(elf);
	close(fd);
}

/*
 * Every row readelf prints for path, checked at its first and last byte.
 * Returns the rows checked; *signals the signal frames among them.
 */
static size_t compare_with_readelf(const char *path, size_t *signals, size_t *ends)
{
	struct unwind_table *t = table_of(path);
	char *cmd, *line = NULL, *cols[32], colbuf[512] = "";
	char cie_aug[1 << 12][8];	/* augmentation by CIE offset / 8 */
	size_t cap = 0, ncols = 0, checked = 0, nrows = 0, i;
	struct want rows[256], cie_row = { 0 };
	uint64_t fde_lo = 0, fde_hi = 0, plt_lo, plt_hi;
	bool in_fde = false, signal = false, whole = false;
	unsigned cie = 0;
	FILE *p;

	*signals = *ends = 0;
	memset(cie_aug, 0, sizeof(cie_aug));
	section_range(path, ".plt", &plt_lo, &plt_hi);
	cr_assert_eq(asprintf(&cmd, "readelf --debug-dump=frames-interp %s", path) > 0, true);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	for (;;) {
		ssize_t len = getline(&line, &cap, p);
		bool end = len < 0 || len <= 1 || strstr(line, " FDE ") || strstr(line, " CIE ");

		/* an FDE's rows end with a blank line or the next entry */
		if (end && in_fde) {
			if (!nrows) {	/* no instructions: its CIE's rules */
				rows[0] = cie_row;
				rows[0].lo = fde_lo;
				nrows = 1;
			}
			for (i = 0; i < nrows; i++) {
				rows[i].hi = i + 1 < nrows ? rows[i + 1].lo : fde_hi;
				if (rows[i].lo >= rows[i].hi)
					continue;
				*signals += rows[i].row.kind == LW_UROW_SIGNAL;
				*ends += rows[i].row.kind == LW_UROW_END;
				check(t, &rows[i], rows[i].lo, plt_lo, plt_hi, &checked);
				check(t, &rows[i], rows[i].hi - 1, plt_lo, plt_hi, &checked);
			}
			in_fde = false;
		}
		if (len < 0)
			break;
		if (strstr(line, "ZERO terminator"))
			whole = true;
		if (strstr(line, " CIE ")) {
			unsigned off = (unsigned)strtoul(line, NULL, 16);
			char *q = strchr(line, '"');

			cie = off;
			if (q && off / 8 < (1 << 12))
				snprintf(cie_aug[off / 8], sizeof(cie_aug[0]), "%.*s",
					 (int)strcspn(q + 1, "\""), q + 1);
			in_fde = false;
			nrows = 0;
			signal = false;
			continue;
		}
		if (strstr(line, " FDE ")) {
			char *c = strstr(line, "cie="), *pc = strstr(line, "pc=");

			cr_assert(c && pc);
			cie = (unsigned)strtoul(c + 4, NULL, 16);
			signal = cie / 8 < (1 << 12) && strchr(cie_aug[cie / 8], 'S');
			fde_lo = strtoull(pc + 3, &pc, 16);
			fde_hi = strtoull(pc + 2, NULL, 16);
			in_fde = true;
			nrows = 0;
			continue;
		}
		if (strstr(line, "LOC")) {
			char *tok, *save = NULL;

			snprintf(colbuf, sizeof(colbuf), "%s", line);
			ncols = 0;
			strtok_r(colbuf, " \t\n", &save);	/* LOC */
			while ((tok = strtok_r(NULL, " \t\n", &save)) && ncols < 32)
				cols[ncols++] = tok;
			continue;
		}
		if (len > 16 && line[0] != ' ' && ncols) {
			struct want w;

			parse_row(cols, ncols, line, signal, &w);
			if (!in_fde) {	/* a CIE's initial rules */
				cie_row = w;
			} else if (nrows < 256) {
				rows[nrows++] = w;
			}
		}
	}
	/* readelf exits 1 on Debian's libc without saying why: the output
	 * is whole when it reached the section's terminator */
	pclose(p);
	cr_assert(whole, "readelf's output ended early");
	free(line);
	free(cmd);
	unwind_table__free(t);
	return checked;
}

Test(unwind_table, rows_of_code_without_frame_pointers_match_readelf)
{
	char *prog = build("nofp", "-O2 -fomit-frame-pointer");
	size_t signals, ends, n = compare_with_readelf(prog, &signals, &ends);

	cr_assert_gt(n, 20, "only %zu rows checked", n);
	cr_assert_eq(ends, 1, "_start's undefined return address");
	free(prog);
}

Test(unwind_table, rows_of_code_with_frame_pointers_match_readelf)
{
	char *prog = build("fp", "-O1 -fno-omit-frame-pointer -g");
	size_t signals, ends, n = compare_with_readelf(prog, &signals, &ends);
	struct unwind_table *t = table_of(prog);
	size_t rbp = 0, i;

	cr_assert_gt(n, 20, "only %zu rows checked", n);
	for (i = 0; i < t->nrows; i++)
		rbp += t->rows[i].kind == LW_UROW_RBP && t->rows[i].cfa_off == 16 &&
		       t->rows[i].rbp_off == -16;
	cr_assert_geq(rbp, 5, "every function's body: CFA = rbp + 16, rbp at CFA - 16");
	unwind_table__free(t);
	free(prog);
}

Test(unwind_table, libc_signal_trampoline_and_thread_starts)
{
	size_t signals, ends, n;

	n = compare_with_readelf("/lib/x86_64-linux-gnu/libc.so.6", &signals, &ends);
	cr_assert_gt(n, 10000);
	cr_assert_eq(signals, 1, "__restore_rt");
	cr_assert_geq(ends, 2, "clone and clone3");
}

/* The page index finds what a search of all rows finds, at every byte. */
Test(unwind_table, page_index_agrees_with_a_full_search)
{
	char *prog = build("idx", "-O2 -fomit-frame-pointer");
	struct unwind_table *t = table_of(prog);
	uint64_t a;

	cr_assert_eq(t->npages, t->size / UNWIND_PAGE_SIZE);
	for (a = t->base; a < t->base + t->size; a++) {
		const struct lw_urow *want = NULL, *got = unwind_table__find(t, a);
		size_t i;

		for (i = 0; i < t->nrows && t->base + t->rows[i].pc <= a; i++)
			want = &t->rows[i];
		cr_assert_eq(got, want, "at %#lx", (unsigned long)a);
	}
	for (a = 1; a < t->nrows; a++)
		cr_assert_lt(t->rows[a - 1].pc, t->rows[a].pc, "rows sorted, one per address");
	cr_assert_null(unwind_table__find(t, t->base + t->size));
	cr_assert_null(unwind_table__find(t, t->base - 1));
	unwind_table__free(t);
	free(prog);
}

Test(unwind_table, mapping_offsets_to_file_addresses)
{
	char *prog = build("pie", "-O2 -fomit-frame-pointer");
	struct unwind_table *t = table_of(prog);
	uint64_t v;

	/* a PIE's code segment starts one page in, at its own file offset */
	cr_assert_eq(t->nsegs, 1);
	cr_assert_eq(unwind_seg_vaddr(t->segs, t->nsegs, t->segs[0].offset & ~0xfffull, &v), 0);
	cr_assert_eq(v, t->segs[0].vaddr & ~0xfffull);
	cr_assert_eq(unwind_seg_vaddr(t->segs, t->nsegs, 0x100000000ull, &v), -ENOENT);
	unwind_table__free(t);
	free(prog);
}

Test(unwind_table, refuses_what_it_cannot_use)
{
	char *prog = build("nohdr", "-O2 -Wl,--no-eh-frame-hdr");
	int fd = open(prog, O_RDONLY);

	errno = 0;
	cr_assert_null(unwind_table__new(fd));
	cr_assert_eq(errno, ENODATA, "no .eh_frame_hdr: %s", strerror(errno));
	close(fd);
	free(prog);

	cr_assert_eq(asprintf(&prog, "%s/prog.c", dir) > 0, true);
	fd = open(prog, O_RDONLY);
	errno = 0;
	cr_assert_null(unwind_table__new(fd));
	cr_assert_eq(errno, ENOEXEC, "not ELF: %s", strerror(errno));
	close(fd);
	free(prog);
}

/* The GNU build ID that shares a table between copies of a file, as
 * readelf reads it. */
Test(unwind_table, build_id_as_readelf_reads_it)
{
	char *prog = build("bid", "-O2 -Wl,--build-id=sha1"), *cmd, *line = NULL, want[128] = "";
	struct unwind_table *t = table_of(prog);
	size_t cap = 0, i;
	char got[129];
	FILE *p;

	cr_assert_eq(asprintf(&cmd, "readelf -n %s", prog) > 0, true);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (getline(&line, &cap, p) > 0)
		if (strstr(line, "Build ID: "))
			sscanf(strstr(line, "Build ID: ") + 10, "%127s", want);
	pclose(p);
	cr_assert_eq(t->build_id_len, 20);
	for (i = 0; i < t->build_id_len; i++)
		snprintf(got + 2 * i, 3, "%02x", t->build_id[i]);
	cr_assert_str_eq(got, want);
	free(line);
	free(cmd);
	unwind_table__free(t);
	free(prog);
}

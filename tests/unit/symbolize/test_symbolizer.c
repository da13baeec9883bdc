// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Symbolizer tests against programs built at test time with the system
 * compilers (cc, c++).  The ground truth comes from outside the symbolizer:
 * symbol values from the ELF symbol table (libelf), return addresses
 * printed by the programs themselves, and line numbers of marker comments
 * in the sources below.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <elfutils/libdwelf.h>
#include <gelf.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "symbolizer.h"

/* Above the largest pid_max (2^22): never a live process. */
#define NO_SUCH_PID 0x7ffffff0

/*
 * leaf_function calls sink on a line of its own; the call is not a tail
 * call (the result is used after it), so sink's return address is inside
 * leaf_function, after the call on the @CALL_LEAF line.  inner_helper is
 * always inlined into middle_helper, itself always inlined into
 * outer_function.  Inputs come from argc, so that the
 * compiler cannot specialise (clone) the functions.
 */
static const char prog_src[] =
	"#include <stdio.h>\n"
	"\n"
	"__attribute__((noinline)) int sink(int x)\n"
	"{\n"
	"	printf(\"ret %p\\n\", __builtin_return_address(0));\n"
	"	return x + 1;\n"
	"}\n"
	"\n"
	"__attribute__((noinline)) int leaf_function(int x) {\n"
	"	int r = sink(x * 3); /* @CALL_LEAF */\n"
	"	return r * 5 + 1;\n"
	"}\n"
	"\n"
	"static inline __attribute__((always_inline)) int inner_helper(int x) {\n"
	"	int y = x * 7;\n"
	"	y = sink(y); /* @CALL_INNER */\n"
	"	return y ^ 5;\n"
	"}\n"
	"\n"
	"static inline __attribute__((always_inline)) int middle_helper(int x) {\n"
	"	return inner_helper(x + 9) - 4; /* @CALL_MIDDLE */\n"
	"}\n"
	"\n"
	"__attribute__((noinline)) int outer_function(int x) {\n"
	"	int r = middle_helper(x); /* @CALL_OUTER */\n"
	"	return r + 2;\n"
	"}\n"
	"\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"	int r;\n"
	"\n"
	"	printf(\"leaf %p\\n\", (void *)leaf_function);\n"
	"	printf(\"outer %p\\n\", (void *)outer_function);\n"
	"	r = leaf_function(argc);\n"
	"	r += outer_function(argc);\n"
	"	printf(\"done\\n\");\n"
	"	return r == 12345;\n"
	"}\n";

static const char cxx_src[] =
	"#include <cstdio>\n"
	"\n"
	"namespace ns {\n"
	"template <typename T> struct Box {\n"
	"	T v;\n"
	"	__attribute__((noinline)) T grow(unsigned long n);\n"
	"};\n"
	"\n"
	"template <typename T> T Box<T>::grow(unsigned long n)\n"
	"{\n"
	"	v += (T)n; /* @GROW */\n"
	"	return v * 3;\n"
	"}\n"
	"\n"
	"template struct Box<int>;\n"
	"}\n"
	"\n"
	"static ns::Box<int> box;\n"
	"\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"	std::printf(\"%d\\n\", box.grow(argc));\n"
	"	return 0;\n"
	"}\n";

/* One line: every address of lib_function is on it. */
static const char lib_src[] =
	"\n"
	"__attribute__((noinline)) int lib_function(int x) { return x * 11 + 3; } /* @LIB */\n";

/* Linked with lib_src: prints where its functions are, then stays alive
 * until stdin closes. */
static const char live_src[] =
	"#include <stdio.h>\n"
	"#include <unistd.h>\n"
	"\n"
	"int lib_function(int x);\n"
	"\n"
	"__attribute__((noinline))\n"
	"int exe_function(int x) { return lib_function(x) * 2; } /* @EXE */\n"
	"\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"	char c;\n"
	"\n"
	"	printf(\"exe %p\\n\", (void *)exe_function);\n"
	"	printf(\"lib %p\\n\", (void *)lib_function);\n"
	"	fflush(stdout);\n"
	"	while (read(0, &c, 1) > 0)\n"
	"		;\n"
	"	return exe_function(argc) == 7;\n"
	"}\n";

/* Waits for a byte on stdin, dlopen()s argv[1], prints where lib_function
 * is, then stays alive until stdin closes. */
static const char dlopen_src[] =
	"#include <dlfcn.h>\n"
	"#include <stdio.h>\n"
	"#include <unistd.h>\n"
	"\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"	void *h, *f;\n"
	"	char c;\n"
	"\n"
	"	printf(\"ready\\n\");\n"
	"	fflush(stdout);\n"
	"	if (argc < 2 || read(0, &c, 1) != 1)\n"
	"		return 1;\n"
	"	h = dlopen(argv[1], RTLD_NOW);\n"
	"	f = h ? dlsym(h, \"lib_function\") : NULL;\n"
	"	printf(\"lib %p\\n\", f);\n"
	"	fflush(stdout);\n"
	"	while (read(0, &c, 1) > 0)\n"
	"		;\n"
	"	return 0;\n"
	"}\n";

struct child {
	pid_t pid;
	int to_child;	/* the child's stdin */
	FILE *from;	/* the child's stdout */
};

static struct {
	char *dir;
	struct symbolizer *s;
	struct child child;
	char *line;
	size_t line_cap;
} fx;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void setup(void)
{
	char tmpl[] = "/tmp/lw-symtest-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
	fx.dir = strdup(tmpl);
	fx.s = symbolizer__new(NULL);
	cr_assert_not_null(fx.s);
	fx.child.pid = -1;
	fx.child.to_child = -1;
}

static void stop_child(void)
{
	if (fx.child.to_child >= 0)
		close(fx.child.to_child);
	fx.child.to_child = -1;
	if (fx.child.pid > 0) {
		kill(fx.child.pid, SIGKILL);
		waitpid(fx.child.pid, NULL, 0);
	}
	fx.child.pid = -1;
	if (fx.child.from)
		fclose(fx.child.from);
	fx.child.from = NULL;
}

static void teardown(void)
{
	stop_child();
	symbolizer__free(fx.s);
	if (fx.dir)
		nftw(fx.dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(fx.dir);
	free(fx.line);
}

TestSuite(symbolizer, .init = setup, .fini = teardown);

/* malloc'd "<test dir>/<name>" */
static char *path_of(const char *name)
{
	char *path;

	cr_assert_geq(asprintf(&path, "%s/%s", fx.dir, name), 0);
	return path;
}

static char *write_source(const char *name, const char *text)
{
	char *path = path_of(name);
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fputs(text, f) >= 0 && fclose(f) == 0, true, "writing %s", path);
	return path;
}

/* Build out from src with the compiler cc and flags (after the source, for
 * libraries); the test fails when the compiler is missing: these tests
 * cannot run without it. */
static char *build(const char *cc, const char *flags, const char *src_name, const char *src,
		   const char *out_name)
{
	char *src_path = write_source(src_name, src);
	char *out = path_of(out_name);
	char *cmd;
	int status;

	cr_assert_geq(asprintf(&cmd, "%s -g -O2 -o '%s' '%s' %s", cc, out, src_path, flags), 0);
	status = system(cmd);
	cr_assert_neq(status, -1, "system(%s): %s", cmd, strerror(errno));
	cr_assert_neq(WEXITSTATUS(status), 127,
		      "'%s' not found: the symbolizer tests build their programs with it", cc);
	cr_assert_eq(status, 0, "build failed: %s", cmd);
	free(cmd);
	free(src_path);
	return out;
}

static char *build_prog(void)
{
	return build("cc", "-fPIE -pie", "prog.c", prog_src, "prog");
}

/* 1-based number of the line of src holding marker */
static int marker_line(const char *src, const char *marker)
{
	const char *at = strstr(src, marker), *p;
	int line = 1;

	cr_assert_not_null(at, "no marker %s", marker);
	for (p = src; p < at; p++)
		line += *p == '\n';
	return line;
}

/* st_value of the symbol name in the ELF symbol table of path */
static uint64_t elf_symbol(const char *path, const char *name)
{
	Elf_Scn *scn = NULL;
	uint64_t value = 0;
	bool found = false;
	Elf *elf;
	int fd;

	cr_assert_neq(elf_version(EV_CURRENT), EV_NONE);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert_not_null(elf, "%s: %s", path, elf_errmsg(-1));
	while (!found && (scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		GElf_Shdr sh;
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			const char *sname;
			GElf_Sym sym;

			if (!gelf_getsym(data, (int)i, &sym))
				continue;
			sname = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (sname && !strcmp(sname, name)) {
				value = sym.st_value;
				found = true;
				break;
			}
		}
	}
	elf_end(elf);
	close(fd);
	cr_assert(found, "no symbol %s in %s", name, path);
	return value;
}

/* Next line of the child's output, without its newline (owned by fx). */
static const char *child_line(void)
{
	ssize_t n = getline(&fx.line, &fx.line_cap, fx.child.from);

	cr_assert_gt(n, 0, "the child %d ended its output early", (int)fx.child.pid);
	if (fx.line[n - 1] == '\n')
		fx.line[n - 1] = '\0';
	return fx.line;
}

/* The address printed on the child's next line, which must be "<key> 0x..." */
static uint64_t child_address(const char *key)
{
	const char *line = child_line();
	size_t len = strlen(key);
	unsigned long long addr;

	cr_assert(!strncmp(line, key, len) && line[len] == ' ' &&
		  sscanf(line + len + 1, "%llx", &addr) == 1,
		  "expected '%s <address>', got '%s'", key, line);
	return addr;
}

static void start_child(char *const argv[])
{
	int in[2], out[2];
	pid_t pid;

	cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	fx.child.pid = pid;
	fx.child.to_child = in[1];
	fx.child.from = fdopen(out[0], "r");
	cr_assert_not_null(fx.child.from);
}

/* Kill the child and reap it: its /proc entry is gone afterwards. */
static void kill_child(void)
{
	char path[64];

	cr_assert_eq(kill(fx.child.pid, SIGKILL), 0);
	cr_assert_eq(waitpid(fx.child.pid, NULL, 0), fx.child.pid);
	snprintf(path, sizeof(path), "/proc/%d", (int)fx.child.pid);
	fx.child.pid = -1;
	cr_assert_neq(access(path, F_OK), 0, "%s still exists", path);
}

static const char *base_name(const char *path)
{
	const char *slash;

	cr_assert_not_null(path, "no file name");
	slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static void assert_frame(const struct sym_frame *f, uint64_t address, const char *function,
			 uint64_t offset, const char *file, int line, const char *module,
			 bool inlined)
{
	cr_assert_eq(f->address, address, "address 0x%" PRIx64 " != 0x%" PRIx64, f->address,
		     address);
	cr_assert_not_null(f->function, "no function at 0x%" PRIx64 " (want %s)", address,
			   function);
	cr_assert_str_eq(f->function, function);
	cr_assert_eq(f->offset, offset, "%s+0x%" PRIx64 ", want +0x%" PRIx64, function,
		     f->offset, offset);
	cr_assert_str_eq(base_name(f->file), file);
	cr_assert_eq(f->line, line, "%s: line %d, want %d", function, f->line, line);
	cr_assert_not_null(f->module);
	cr_assert_str_eq(f->module, module);
	cr_assert_eq(f->inlined, inlined, "%s: inlined = %d", function, f->inlined);
}

/* Run prog to its end and read where leaf_function and outer_function
 * were at run time and the return addresses sink saw. */
static void run_prog(const char *prog, uint64_t *leaf, uint64_t *outer, uint64_t *ret_leaf,
		     uint64_t *ret_outer)
{
	char *argv[] = { (char *)prog, NULL };
	int status;

	start_child(argv);
	*leaf = child_address("leaf");
	*outer = child_address("outer");
	*ret_leaf = child_address("ret");
	*ret_outer = child_address("ret");
	cr_assert_str_eq(child_line(), "done");
	cr_assert_eq(waitpid(fx.child.pid, &status, 0), fx.child.pid);
	fx.child.pid = -1;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	stop_child();
}

#define BASE 0x5555aaaa0000ULL	/* where the offline tests "load" prog */
#define PID 4242		/* any pid: /proc is not read for offline processes */

Test(symbolizer, offline_function_offset_and_line)
{
	char *prog = build_prog();
	uint64_t leaf, outer, ret_leaf, ret_outer, sym, off;
	const struct sym_frame *frames;
	int line = marker_line(prog_src, "@CALL_LEAF");

	run_prog(prog, &leaf, &outer, &ret_leaf, &ret_outer);
	sym = elf_symbol(prog, "leaf_function");
	off = ret_leaf - leaf;	/* sink's return address, inside leaf_function */
	cr_assert_gt(off, 0);
	cr_assert_eq(symbolizer__add_elf(fx.s, PID, prog, BASE), 0);

	/* A return address: its line is the call's, not the next statement's. */
	cr_assert_eq(symbolizer__resolve(fx.s, PID, BASE + sym + off, true, &frames), 1);
	assert_frame(&frames[0], BASE + sym + off, "leaf_function", off, "prog.c", line, prog,
		     false);

	/* The last byte of the call instruction, as a plain address. */
	cr_assert_eq(symbolizer__resolve(fx.s, PID, BASE + sym + off - 1, false, &frames), 1);
	assert_frame(&frames[0], BASE + sym + off - 1, "leaf_function", off - 1, "prog.c", line,
		     prog, false);

	/* The entry point: offset 0 (the line of an entry is the compiler's
	 * choice between the signature and the first statement). */
	cr_assert_eq(symbolizer__resolve(fx.s, PID, BASE + sym, false, &frames), 1);
	cr_assert_str_eq(frames[0].function, "leaf_function");
	cr_assert_eq(frames[0].offset, 0);
	free(prog);
}

Test(symbolizer, offline_inline_chain)
{
	char *prog = build_prog();
	uint64_t leaf, outer, ret_leaf, ret_outer, sym, off, addr;
	const struct sym_frame *frames;

	run_prog(prog, &leaf, &outer, &ret_leaf, &ret_outer);
	sym = elf_symbol(prog, "outer_function");
	off = ret_outer - outer;	/* after the call in inner_helper's inlined body */
	addr = BASE + sym + off;
	cr_assert_eq(symbolizer__add_elf(fx.s, PID, prog, BASE), 0);

	cr_assert_eq(symbolizer__resolve(fx.s, PID, addr, true, &frames), 3);
	assert_frame(&frames[0], addr, "inner_helper", 0, "prog.c",
		     marker_line(prog_src, "@CALL_INNER"), prog, true);
	assert_frame(&frames[1], addr, "middle_helper", 0, "prog.c",
		     marker_line(prog_src, "@CALL_MIDDLE"), prog, true);
	assert_frame(&frames[2], addr, "outer_function", off, "prog.c",
		     marker_line(prog_src, "@CALL_OUTER"), prog, false);
	free(prog);
}

Test(symbolizer, offline_cxx_demangled)
{
	char *prog = build("c++", "-fPIE -pie", "box.cc", cxx_src, "box");
	uint64_t sym = elf_symbol(prog, "_ZN2ns3BoxIiE4growEm");
	const struct sym_frame *frames;

	cr_assert_eq(symbolizer__add_elf(fx.s, PID, prog, BASE), 0);
	cr_assert_eq(symbolizer__resolve(fx.s, PID, BASE + sym + 1, false, &frames), 1);
	cr_assert_not_null(frames[0].function);
	cr_assert_str_eq(frames[0].function, "ns::Box<int>::grow(unsigned long)");
	cr_assert_eq(frames[0].offset, 1);
	cr_assert_str_eq(base_name(frames[0].file), "box.cc");
	cr_assert_str_eq(frames[0].module, prog);
	free(prog);
}

Test(symbolizer, cached_results_are_reused)
{
	char *prog = build_prog();
	uint64_t addr = BASE + elf_symbol(prog, "leaf_function");
	const struct sym_frame *a, *b, *c;

	cr_assert_eq(symbolizer__add_elf(fx.s, PID, prog, BASE), 0);
	cr_assert_eq(symbolizer__resolve(fx.s, PID, addr, false, &a), 1);
	cr_assert_eq(symbolizer__resolve(fx.s, PID, addr, false, &b), 1);
	cr_assert_eq(a, b, "the second lookup did not come from the cache");
	/* A return address is another question about the same ip. */
	cr_assert_eq(symbolizer__resolve(fx.s, PID, addr, true, &c), 1);
	cr_assert_neq(a, c);
	free(prog);
}

/* live_src built as a PIE linked with *lib, lib_src built as libsymtest.so. */
static char *build_live(char **lib)
{
	char *flags, *prog;

	*lib = build("cc", "-shared -fPIC", "lib.c", lib_src, "libsymtest.so");
	cr_assert_geq(asprintf(&flags, "-fPIE -pie -L'%s' -lsymtest -Wl,-rpath,'%s'", fx.dir,
			       fx.dir), 0);
	prog = build("cc", flags, "live.c", live_src, "live");
	free(flags);
	return prog;
}

Test(symbolizer, live_process_resolves_after_exit)
{
	char *lib, *prog, *exe_module, *lib_module, *argv[2] = { NULL, NULL };
	const struct sym_frame *frames;
	uint64_t exe_fn, lib_fn;
	pid_t pid;

	prog = build_live(&lib);
	exe_module = realpath(prog, NULL);
	lib_module = realpath(lib, NULL);
	cr_assert(exe_module && lib_module);
	argv[0] = prog;
	start_child(argv);
	pid = fx.child.pid;
	exe_fn = child_address("exe");
	lib_fn = child_address("lib");	/* the child now waits in read() */

	cr_assert_eq(symbolizer__add_process(fx.s, pid), 0);
	cr_assert_eq(symbolizer__resolve(fx.s, pid, exe_fn, false, &frames), 1);
	assert_frame(&frames[0], exe_fn, "exe_function", 0, "live.c",
		     marker_line(live_src, "@EXE"), exe_module, false);

	kill_child();
	/* Neither /proc/PID nor the library file remain, and nothing looked
	 * at the library yet: add_process must have opened it. */
	cr_assert_eq(unlink(lib), 0);
	cr_assert_eq(symbolizer__resolve(fx.s, pid, lib_fn + 2, false, &frames), 1);
	assert_frame(&frames[0], lib_fn + 2, "lib_function", 2, "lib.c",
		     marker_line(lib_src, "@LIB"), lib_module, false);
	free(lib_module);
	free(exe_module);
	free(prog);
	free(lib);
}

/* Open file descriptors of this process. */
static int open_fds(void)
{
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	cr_assert_not_null(dir, "/proc/self/fd: %s", strerror(errno));
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n - 1;	/* dir's own */
}

/*
 * Processes that map the same files share them: each file is opened once
 * (and its debug info read once), wherever each process loaded it, with
 * the same results as a process of its own, until the last one is
 * forgotten.
 */
Test(symbolizer, processes_share_their_files)
{
	char *lib, *prog, *exe_module, *lib_module, *argv[2] = { NULL, NULL };
	struct child kids[4];
	uint64_t exe_fn[4], lib_fn[4], exe_sym, lib_sym;
	const struct sym_frame *frames;
	int i, n = 4, before, one;

	prog = build_live(&lib);
	exe_module = realpath(prog, NULL);
	lib_module = realpath(lib, NULL);
	cr_assert(exe_module && lib_module);
	exe_sym = elf_symbol(prog, "exe_function");
	lib_sym = elf_symbol(lib, "lib_function");
	argv[0] = prog;
	for (i = 0; i < n; i++) {
		start_child(argv);
		exe_fn[i] = child_address("exe");
		lib_fn[i] = child_address("lib");
		kids[i] = fx.child;
		fx.child = (struct child){ .pid = -1, .to_child = -1 };
	}
	/* loaded at other places each (ASLR), else the shift goes untested */
	cr_assert(exe_fn[0] != exe_fn[1] && lib_fn[0] != lib_fn[1],
		  "two processes loaded live and libsymtest.so at the same places: is ASLR "
		  "off (sysctl kernel.randomize_va_space)?");

	before = open_fds();
	cr_assert_eq(symbolizer__add_process(fx.s, kids[0].pid), 0);
	one = open_fds();
	/* live, libsymtest.so, libc, ld.so at least */
	cr_assert_geq(one - before, 4, "%d files open for one process", one - before);
	for (i = 1; i < n; i++)
		cr_assert_eq(symbolizer__add_process(fx.s, kids[i].pid), 0);
	cr_assert_eq(open_fds(), one, "%d processes: %d files open, one process: %d", n,
		     open_fds() - before, one - before);

	for (i = 0; i < n; i++) {
		cr_assert_eq(symbolizer__resolve(fx.s, kids[i].pid, exe_fn[i], false, &frames), 1);
		assert_frame(&frames[0], exe_fn[i], "exe_function", 0, "live.c",
			     marker_line(live_src, "@EXE"), exe_module, false);
		cr_assert(frames[0].has_module_offset);
		cr_assert_eq(frames[0].module_offset, exe_sym);
		cr_assert_eq(symbolizer__resolve(fx.s, kids[i].pid, lib_fn[i] + 2, true, &frames),
			     1);
		assert_frame(&frames[0], lib_fn[i] + 2, "lib_function", 2, "lib.c",
			     marker_line(lib_src, "@LIB"), lib_module, false);
		cr_assert_eq(frames[0].module_offset, lib_sym + 2);
	}

	/* the files stay open while one process that mapped them is known */
	for (i = 0; i < n; i++) {
		fx.child = kids[i];
		stop_child();
	}
	for (i = 0; i < n - 1; i++)
		symbolizer__forget_process(fx.s, kids[i].pid);
	cr_assert_eq(open_fds(), one - 2 * n);	/* the pipes to the children closed */
	cr_assert_eq(symbolizer__resolve(fx.s, kids[n - 1].pid, lib_fn[n - 1], false, &frames), 1);
	cr_assert_str_eq(frames[0].function, "lib_function");
	symbolizer__forget_process(fx.s, kids[n - 1].pid);
	cr_assert_eq(open_fds(), before - 2 * n);
	free(lib_module);
	free(exe_module);
	free(prog);
	free(lib);
}

Test(symbolizer, dlopen_after_add_process)
{
	char *lib = build("cc", "-shared -fPIC", "lib.c", lib_src, "libsymtest.so");
	char *prog = build("cc", "", "dl.c", dlopen_src, "dl");
	char *argv[] = { prog, lib, NULL };
	char *module = realpath(lib, NULL);
	const struct sym_frame *before, *frames;
	uint64_t fn;
	pid_t pid;

	cr_assert_not_null(module);
	start_child(argv);
	pid = fx.child.pid;
	cr_assert_str_eq(child_line(), "ready");
	cr_assert_eq(symbolizer__add_process(fx.s, pid), 0);
	cr_assert_eq(write(fx.child.to_child, "g", 1), 1);	/* now dlopen */
	fn = child_address("lib");
	cr_assert_neq(fn, 0, "the child could not dlopen %s", lib);

	/* Unknown until the module list is refreshed. */
	cr_assert_eq(symbolizer__resolve(fx.s, pid, fn, false, &before), 1);
	cr_assert_null(before[0].module);
	cr_assert_null(before[0].function);

	symbolizer__note_stack(fx.s, pid, SYM_NO_KEY, &fn, 1);
	kill_child();
	cr_assert_eq(unlink(lib), 0);	/* must have been opened by note_stack */
	cr_assert_eq(symbolizer__resolve(fx.s, pid, fn, false, &frames), 1);
	assert_frame(&frames[0], fn, "lib_function", 0, "lib.c", marker_line(lib_src, "@LIB"),
		     module, false);
	/* The first answer stays readable until the process is forgotten. */
	cr_assert_eq(before[0].address, fn);
	free(module);
	free(prog);
	free(lib);
}

Test(symbolizer, unknown_address)
{
	char *prog = build_prog();
	const struct sym_frame *frames;

	cr_assert_eq(symbolizer__add_elf(fx.s, PID, prog, BASE), 0);
	cr_assert_eq(symbolizer__resolve(fx.s, PID, 0x10, true, &frames), 1);
	cr_assert_eq(frames[0].address, 0x10);
	cr_assert_null(frames[0].function);
	cr_assert_eq(frames[0].offset, 0);
	cr_assert_null(frames[0].file);
	cr_assert_eq(frames[0].line, 0);
	cr_assert_null(frames[0].module);
	cr_assert_eq(frames[0].inlined, false);

	/* A pid never added and not running: nothing known, not an error. */
	cr_assert_eq(symbolizer__resolve(fx.s, NO_SUCH_PID, 0x401000, true, &frames), 1);
	cr_assert_null(frames[0].function);
	cr_assert_null(frames[0].module);
	free(prog);
}

Test(symbolizer, forget_process)
{
	char *prog = build_prog();
	uint64_t addr = BASE + elf_symbol(prog, "leaf_function");
	const struct sym_frame *frames;

	cr_assert_eq(symbolizer__add_elf(fx.s, NO_SUCH_PID, prog, BASE), 0);
	cr_assert_eq(symbolizer__resolve(fx.s, NO_SUCH_PID, addr, false, &frames), 1);
	cr_assert_str_eq(frames[0].function, "leaf_function");

	symbolizer__forget_process(fx.s, NO_SUCH_PID);
	symbolizer__forget_process(fx.s, NO_SUCH_PID);	/* not known: no-op */
	cr_assert_eq(symbolizer__resolve(fx.s, NO_SUCH_PID, addr, false, &frames), 1);
	cr_assert_null(frames[0].function);
	cr_assert_null(frames[0].module);
	free(prog);
}

Test(symbolizer, errors)
{
	char *missing = path_of("missing");
	char *text = write_source("text.c", lib_src);
	const struct sym_frame *frames;

	cr_assert_eq(symbolizer__add_process(fx.s, NO_SUCH_PID), -ENOENT);
	cr_assert_eq(symbolizer__add_process(fx.s, 0), -EINVAL);
	cr_assert_eq(symbolizer__add_elf(fx.s, PID, missing, BASE), -ENOENT);
	cr_assert_eq(symbolizer__add_elf(fx.s, PID, text, BASE), -EINVAL);
	cr_assert_eq(symbolizer__resolve(fx.s, PID, 0x1000, false, NULL), -EINVAL);
	cr_assert_eq(symbolizer__resolve(NULL, PID, 0x1000, false, &frames), -EINVAL);
	symbolizer__note_stack(NULL, PID, SYM_NO_KEY, NULL, 0);
	symbolizer__forget_process(NULL, PID);
	symbolizer__free(NULL);
	free(text);
	free(missing);
}

/* Run a shell command of the test; it must succeed. */
static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int status;

	va_start(ap, fmt);
	cr_assert_geq(vasprintf(&cmd, fmt, ap), 0);
	va_end(ap);
	status = system(cmd);
	cr_assert_eq(status, 0, "failed (%d): %s", status, cmd);
	free(cmd);
}

/* The GNU build ID of path in hex, read with libdwelf. */
static char *build_id_of(const char *path)
{
	const unsigned char *bits;
	char *hex;
	ssize_t len, i;
	Elf *elf;
	int fd;

	cr_assert_neq(elf_version(EV_CURRENT), EV_NONE);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	elf = elf_begin(fd, ELF_C_READ, NULL);
	len = dwelf_elf_gnu_build_id(elf, (const void **)&bits);
	cr_assert_gt(len, 0, "%s has no build ID", path);
	hex = calloc(2 * len + 1, 1);
	for (i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", bits[i]);
	elf_end(elf);
	close(fd);
	return hex;
}

/*
 * prog as distributions ship it: -O2, no frame pointers, stripped, its
 * DWARF split off into prog.debug (objcopy --only-keep-debug).  *ret_leaf
 * and *leaf: where sink returns into leaf_function at run time, and
 * leaf_function's run-time address; *sym its st_value.
 */
static char *build_stripped(uint64_t *off, uint64_t *sym)
{
	char *prog = build_prog(), *stripped = path_of("stripped");
	uint64_t leaf, outer, ret_leaf, ret_outer;

	run_prog(prog, &leaf, &outer, &ret_leaf, &ret_outer);
	*sym = elf_symbol(prog, "leaf_function");
	*off = ret_leaf - leaf;
	run("objcopy --only-keep-debug '%s' '%s.debug'", prog, stripped);
	run("strip --strip-all -o '%s' '%s'", stripped, prog);
	free(prog);
	return stripped;
}

/* leaf_function's return address in the stripped prog named with its
 * source line: the DWARF was found. */
static void assert_leaf_with_line(const char *module, uint64_t off, uint64_t sym)
{
	const struct sym_frame *frames;

	cr_assert_eq(symbolizer__resolve(fx.s, PID, BASE + sym + off, true, &frames), 1);
	assert_frame(&frames[0], BASE + sym + off, "leaf_function", off, "prog.c",
		     marker_line(prog_src, "@CALL_LEAF"), module, false);
}

Test(symbolizer, stripped_debug_file_by_build_id)
{
	struct symbolizer_opts o = { .debuginfo_path = NULL };
	char *stripped, *id, *debug_dir = path_of("debug");
	uint64_t off, sym;
	const struct sym_frame *frames;

	stripped = build_stripped(&off, &sym);
	id = build_id_of(stripped);
	/* /usr/lib/debug's layout: .build-id/xx/yyyy.debug */
	run("mkdir -p '%s/.build-id/%.2s' && mv '%s.debug' '%s/.build-id/%.2s/%s.debug'",
	    debug_dir, id, stripped, debug_dir, id, id + 2);

	/* Without the debug directory: a stripped file names nothing... */
	cr_assert_eq(symbolizer__add_elf(fx.s, PID, stripped, BASE), 0);
	cr_assert_eq(symbolizer__resolve(fx.s, PID, BASE + sym + off, true, &frames), 1);
	cr_assert_null(frames[0].function);
	cr_assert_str_eq(frames[0].module, stripped);
	/* ...but says where the address is, for offline symbolization */
	cr_assert(frames[0].has_module_offset);
	cr_assert_eq(frames[0].module_offset, sym + off);
	cr_assert_not_null(frames[0].build_id);
	cr_assert_str_eq(frames[0].build_id, id);

	symbolizer__free(fx.s);
	o.debuginfo_path = debug_dir;
	fx.s = symbolizer__new(&o);
	cr_assert_not_null(fx.s);
	cr_assert_eq(symbolizer__add_elf(fx.s, PID, stripped, BASE), 0);
	assert_leaf_with_line(stripped, off, sym);
	free(id);
	free(debug_dir);
	free(stripped);
}

Test(symbolizer, stripped_debug_file_by_debuglink)
{
	char *stripped, *linked = path_of("linked");
	uint64_t off, sym;

	stripped = build_stripped(&off, &sym);
	/* .gnu_debuglink names the debug file; it lies beside the binary,
	 * where libdwfl's default search looks first */
	run("cd '%s' && objcopy --add-gnu-debuglink=stripped.debug stripped linked", fx.dir);
	cr_assert_eq(symbolizer__add_elf(fx.s, PID, linked, BASE), 0);
	assert_leaf_with_line(linked, off, sym);
	free(linked);
	free(stripped);
}

Test(symbolizer, stripped_minidebuginfo)
{
	char *stripped, *mini = path_of("mini");
	const struct sym_frame *frames;
	uint64_t off, sym;

	stripped = build_stripped(&off, &sym);
	/* MiniDebugInfo as Fedora builds it (gdb's manual, "MiniDebugInfo"):
	 * the function symbols not in .dynsym, xz-compressed in
	 * .gnu_debugdata */
	run("cd '%s' && nm -D stripped --format=posix --defined-only | awk '{print $1}' | sort > dyn"
	    " && nm stripped.debug --format=posix --defined-only"
	    " | awk '$2 == \"T\" || $2 == \"t\" {print $1}' | sort > funcs"
	    " && comm -13 dyn funcs > keep"
	    " && objcopy -S --remove-section .gdb_index --remove-section .comment"
	    " --keep-symbols=keep stripped.debug minidebug"
	    " && xz -f minidebug && objcopy --add-section .gnu_debugdata=minidebug.xz stripped mini",
	    fx.dir);
	cr_assert_eq(symbolizer__add_elf(fx.s, PID, mini, BASE), 0);
	cr_assert_eq(symbolizer__resolve(fx.s, PID, BASE + sym + off, true, &frames), 1);
	cr_assert_not_null(frames[0].function, "MiniDebugInfo not read");
	cr_assert_str_eq(frames[0].function, "leaf_function");
	cr_assert_eq(frames[0].offset, off);
	cr_assert_null(frames[0].file);		/* symbols only */
	cr_assert_str_eq(frames[0].module, mini);
	free(mini);
	free(stripped);
}

Test(symbolizer, stripped_dynsym)
{
	char *lib = build("cc", "-shared -fPIC", "lib.c", lib_src, "libsymtest.so");
	char *stripped = path_of("libstripped.so");
	uint64_t sym = elf_symbol(lib, "lib_function");
	const struct sym_frame *frames;

	run("strip --strip-all -o '%s' '%s'", stripped, lib);
	cr_assert_eq(symbolizer__add_elf(fx.s, PID, stripped, BASE), 0);
	cr_assert_eq(symbolizer__resolve(fx.s, PID, BASE + sym + 2, false, &frames), 1);
	cr_assert_not_null(frames[0].function, ".dynsym not read");
	cr_assert_str_eq(frames[0].function, "lib_function");
	cr_assert_eq(frames[0].offset, 2);
	cr_assert_null(frames[0].file);
	free(stripped);
	free(lib);
}

Test(symbolizer, junk_and_end_addresses)
{
	char *prog = build_prog();
	uint64_t code = BASE + elf_symbol(prog, "leaf_function") + 4;

	cr_assert_eq(symbolizer__add_elf(fx.s, PID, prog, BASE), 0);
	cr_assert_eq(symbolizer__classify(fx.s, PID, SYM_NO_KEY, code), SYM_ADDR_CODE);
	/* zero, the first page, ASCII text ("/python3"), kernel addresses */
	cr_assert_eq(symbolizer__classify(fx.s, PID, SYM_NO_KEY, 0), SYM_ADDR_END);
	cr_assert_eq(symbolizer__classify(fx.s, PID, SYM_NO_KEY, 0x10), SYM_ADDR_END);
	cr_assert_eq(symbolizer__classify(fx.s, PID, SYM_NO_KEY, 0x336e6f687479702fULL),
		     SYM_ADDR_END);
	cr_assert_eq(symbolizer__classify(fx.s, PID, SYM_NO_KEY, 0xffffffff81000000ULL),
		     SYM_ADDR_END);
	/* a return address into the stack, or into the module's data */
	cr_assert_eq(symbolizer__classify(fx.s, PID, SYM_NO_KEY, 0x7ffc12345678ULL),
		     SYM_ADDR_JUNK);
	cr_assert_eq(symbolizer__classify(fx.s, PID, SYM_NO_KEY,
					  BASE + elf_symbol(prog, "main") + 0x100000),
		     SYM_ADDR_JUNK);
	/* nothing known of a process: nothing to say */
	cr_assert_eq(symbolizer__classify(fx.s, NO_SUCH_PID, SYM_NO_KEY, 0x7ffc12345678ULL),
		     SYM_ADDR_CODE);
	free(prog);
}

Test(symbolizer, perf_map)
{
	char *map = path_of("perf-1.map"), *link = path_of("perf-2.map");
	const struct sym_frame *frames;
	FILE *f = fopen(map, "w");

	cr_assert_not_null(f);
	/* perf's format, and what a hostile writer might put there */
	fputs("7f0000001000 40 LazyCompile:*hot_loop /srv/app.js:12\n"
	      "0x7f0000002000 0x20 Interpreter\n"
	      "7f0000003000 zz bad size\n"
	      "7f0000004000 0 empty\n"
	      "ffffffffffffffff 10 wraps\n"
	      "7f0000005000 10\n"
	      "no numbers at all\n"
	      "7f0000001000 30 java.lang.String::hashCode\n"	/* replaced */
	      "7f0000006000 8 last line without newline", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(symbolizer__add_perf_map(fx.s, PID, map), 0);

	cr_assert_eq(symbolizer__resolve(fx.s, PID, 0x7f0000001010, false, &frames), 1);
	cr_assert_str_eq(frames[0].function, "java.lang.String::hashCode");
	cr_assert_eq(frames[0].offset, 0x10);
	cr_assert_str_eq(frames[0].module, "[jit]");
	cr_assert(!frames[0].has_module_offset);
	cr_assert_eq(symbolizer__resolve(fx.s, PID, 0x7f000000201f, false, &frames), 1);
	cr_assert_str_eq(frames[0].function, "Interpreter");
	cr_assert_eq(symbolizer__resolve(fx.s, PID, 0x7f0000006004, false, &frames), 1);
	cr_assert_str_eq(frames[0].function, "last line without newline");
	/* past an entry's end, in no entry, in skipped lines */
	cr_assert_eq(symbolizer__classify(fx.s, PID, SYM_NO_KEY, 0x7f0000002021), SYM_ADDR_JUNK);
	cr_assert_eq(symbolizer__classify(fx.s, PID, SYM_NO_KEY, 0x7f0000003004), SYM_ADDR_JUNK);
	cr_assert_eq(symbolizer__classify(fx.s, PID, SYM_NO_KEY, 0x7f0000005004), SYM_ADDR_JUNK);

	/* a symlink (to a file of someone else) is not followed */
	cr_assert_eq(symlink(map, link), 0);
	cr_assert_eq(symbolizer__add_perf_map(fx.s, PID + 1, link), -ELOOP);
	free(link);
	free(map);
}

/* Two libraries with the same layout: their functions land at the same
 * address when one replaces the other. */
static const char plug_a_src[] =
	"__attribute__((noinline)) int first_plugin_fn(int x) { return x * 11 + 3; }\n";
static const char plug_b_src[] =
	"__attribute__((noinline)) int other_plugin_fn(int x) { return x * 13 + 5; }\n";

/* dlopen()s argv[1], prints its function (the first global function in
 * .dynsym, by name argv[2]), waits for a byte, dlclose()s it, dlopen()s
 * argv[3] and prints its function argv[4]; then waits for stdin to close. */
static const char swap_src[] =
	"#include <dlfcn.h>\n"
	"#include <stdio.h>\n"
	"#include <unistd.h>\n"
	"\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"	void *h;\n"
	"	char c;\n"
	"\n"
	"	if (argc < 5 || !(h = dlopen(argv[1], RTLD_NOW)))\n"
	"		return 1;\n"
	"	printf(\"fn %p\\n\", dlsym(h, argv[2]));\n"
	"	fflush(stdout);\n"
	"	if (read(0, &c, 1) != 1)\n"
	"		return 1;\n"
	"	dlclose(h);\n"
	"	if (!(h = dlopen(argv[3], RTLD_NOW)))\n"
	"		return 1;\n"
	"	printf(\"fn %p\\n\", dlsym(h, argv[4]));\n"
	"	fflush(stdout);\n"
	"	while (read(0, &c, 1) > 0)\n"
	"		;\n"
	"	return 0;\n"
	"}\n";

Test(symbolizer, generations_name_the_code_mapped_then)
{
	char *a = build("cc", "-shared -fPIC", "a.c", plug_a_src, "liba.so");
	char *b = build("cc", "-shared -fPIC", "b.c", plug_b_src, "libb.so");
	char *prog = build("cc", "-ldl", "swap.c", swap_src, "swap");
	char *argv[] = { prog, a, "first_plugin_fn", b, "other_plugin_fn", NULL };
	const struct sym_frame *frames;
	uint64_t fa, fb, ra, rb;
	pid_t pid;

	start_child(argv);
	pid = fx.child.pid;
	fa = child_address("fn");
	ra = fa + 4;
	cr_assert_eq(symbolizer__add_process(fx.s, pid), 0);
	symbolizer__note_stack(fx.s, pid, 1, &ra, 1);
	cr_assert_eq(symbolizer__generation(fx.s, pid, 1), 0);

	cr_assert_eq(write(fx.child.to_child, "g", 1), 1);	/* now swap */
	fb = child_address("fn");
	cr_assert_eq(fa, fb, "libb.so did not replace liba.so at the same address");
	rb = fb + 4;
	/* as at a hold after the new library was mapped */
	cr_assert_eq(symbolizer__add_process(fx.s, pid), 0);
	symbolizer__note_stack(fx.s, pid, 2, &rb, 1);
	cr_assert_eq(symbolizer__generation(fx.s, pid, 2), 1);
	kill_child();

	cr_assert_eq(symbolizer__resolve_in(fx.s, pid, 1, ra, true, &frames), 1);
	cr_assert_not_null(frames[0].function);
	cr_assert_str_eq(frames[0].function, "first_plugin_fn");
	cr_assert_str_eq(base_name(frames[0].module), "liba.so");
	cr_assert_eq(symbolizer__resolve_in(fx.s, pid, 2, rb, true, &frames), 1);
	cr_assert_not_null(frames[0].function);
	cr_assert_str_eq(frames[0].function, "other_plugin_fn");
	cr_assert_str_eq(base_name(frames[0].module), "libb.so");
	/* without a key: the newest code */
	cr_assert_eq(symbolizer__resolve(fx.s, pid, ra, true, &frames), 1);
	cr_assert_str_eq(frames[0].function, "other_plugin_fn");
	free(prog);
	free(b);
	free(a);
}

Test(symbolizer, deleted_binary_and_library)
{
	char *lib, *prog, *argv[2] = { NULL, NULL };
	const struct sym_frame *frames;
	uint64_t exe_fn, lib_fn;
	pid_t pid;

	prog = build_live(&lib);
	argv[0] = prog;
	start_child(argv);
	pid = fx.child.pid;
	exe_fn = child_address("exe");
	lib_fn = child_address("lib");
	/* deleted before the symbolizer ever looked (a deploy replaced them);
	 * a new file at the same path must not be read instead */
	cr_assert_eq(unlink(prog), 0);
	cr_assert_eq(unlink(lib), 0);
	run("cp /bin/true '%s' && cp /bin/true '%s'", prog, lib);

	cr_assert_eq(symbolizer__add_process(fx.s, pid), 0);
	kill_child();
	cr_assert_eq(symbolizer__resolve(fx.s, pid, exe_fn, false, &frames), 1);
	assert_frame(&frames[0], exe_fn, "exe_function", 0, "live.c",
		     marker_line(live_src, "@EXE"), prog, false);
	cr_assert_eq(symbolizer__resolve(fx.s, pid, lib_fn + 2, false, &frames), 1);
	assert_frame(&frames[0], lib_fn + 2, "lib_function", 2, "lib.c",
		     marker_line(lib_src, "@LIB"), lib, false);
	free(prog);
	free(lib);
}

/*
 * Go: the program prints, from inside leak(), the pc and the file:line
 * that Go's own runtime gives for it (runtime.Caller), then waits for
 * stdin to close.  With cgo, leak also calls C.
 */
static const char go_src[] =
	"package main\n"
	"\n"
	"import (\n"
	"	\"fmt\"\n"
	"	\"io\"\n"
	"	\"os\"\n"
	"	\"runtime\"\n"
	")\n"
	"\n"
	"var sink []byte\n"
	"\n"
	"//go:noinline\n"
	"func leak(n int) {\n"
	"	sink = make([]byte, n)\n"
	"	pc, file, line, _ := runtime.Caller(0)\n"
	"	fmt.Printf(\"pc %#x %s %d\\n\", pc, file, line)\n"
	"}\n"
	"\n"
	"func main() {\n"
	"	leak(100 + len(os.Args))\n"
	"	io.Copy(io.Discard, os.Stdin)\n"
	"}\n";

static const char go_cgo_src[] =
	"package main\n"
	"\n"
	"/*\n"
	"#include <stdlib.h>\n"
	"static void *helper_alloc(size_t n) { return malloc(n); }\n"
	"*/\n"
	"import \"C\"\n"
	"\n"
	"import (\n"
	"	\"fmt\"\n"
	"	\"io\"\n"
	"	\"os\"\n"
	"	\"runtime\"\n"
	")\n"
	"\n"
	"//go:noinline\n"
	"func leak(n int) {\n"
	"	C.helper_alloc(C.size_t(n))\n"
	"	pc, file, line, _ := runtime.Caller(0)\n"
	"	fmt.Printf(\"pc %#x %s %d\\n\", pc, file, line)\n"
	"}\n"
	"\n"
	"func main() {\n"
	"	leak(100 + len(os.Args))\n"
	"	io.Copy(io.Discard, os.Stdin)\n"
	"}\n";

/* Build a Go program (Debian's golang-go) from src, as `go build` does by
 * default, run it and check that the symbolizer names its pc as Go does. */
static void check_go(const char *src, const char *name)
{
	char *dir = path_of(name), *prog, *argv[2] = { NULL, NULL };
	char file[4096], *main_go;
	const struct sym_frame *frames;
	unsigned long long pc;
	int line;

	run("mkdir -p '%s'", dir);
	main_go = write_source("main.go", src);
	run("mv '%s' '%s/main.go' && printf 'module %s\\ngo 1.19\\n' > '%s/go.mod'", main_go, dir,
	    name, dir);
	cr_assert_geq(asprintf(&prog, "%s/%s", dir, name), 0);
	run("cd '%s' && HOME='%s' GOCACHE='%s/gocache' GOPATH='%s/gopath' GOFLAGS=-mod=mod"
	    " go build -o '%s' . >&2",
	    dir, fx.dir, fx.dir, fx.dir, prog);
	argv[0] = prog;
	start_child(argv);
	cr_assert_eq(sscanf(child_line(), "pc %llx %4095s %d", &pc, file, &line), 3,
		     "unexpected output: %s", fx.line);
	cr_assert_eq(symbolizer__add_process(fx.s, fx.child.pid), 0);
	cr_assert_eq(symbolizer__resolve(fx.s, fx.child.pid, pc, true, &frames), 1);
	cr_assert_not_null(frames[0].function);
	cr_assert_str_eq(frames[0].function, "main.leak");
	cr_assert_not_null(frames[0].file, "no line info for main.leak");
	cr_assert_str_eq(frames[0].file, file);
	cr_assert_eq(frames[0].line, line, "main.leak at line %d, Go says %d", frames[0].line,
		     line);
	stop_child();
	free(main_go);
	free(prog);
	free(dir);
}

Test(symbolizer, go_pure_file_and_line, .timeout = 120)
{
	check_go(go_src, "gopure");
}

Test(symbolizer, go_cgo_file_and_line, .timeout = 120)
{
	check_go(go_cgo_src, "gocgo");
}

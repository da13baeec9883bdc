/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Command-line options declared once, as a table of specs: each spec gives
 * the long and short name, the argument's name, the help text and where the
 * value goes, so getopt's tables, the parsing and --help all come from it.
 * This engine knows nothing of leakwatch's options (options.c has them).
 *
 * A spec's value goes into a field of the target struct (at .offset) by its
 * kind; a value that needs more than a range check has a .parse function.
 * Every bad value gets one message through lw_err, naming the option, the
 * value and what was expected, and the parse returns -EINVAL.
 */
#ifndef LW_OPTSPEC_H
#define LW_OPTSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum opt_kind {
	OPT_NOTE,	/* a line of --help that is no option ("-- COMMAND") */
	OPT_SET,	/* a flag: the bool at .offset becomes true */
	OPT_CLEAR,	/* a flag: the bool at .offset becomes false */
	OPT_U64,	/* uint64_t at .offset: digits in [.min, .max] */
	OPT_SIZE,	/* size_t at .offset: digits in [.min, .max] */
	OPT_UINT,	/* unsigned int at .offset: digits in [.min, .max] */
	OPT_SECONDS,	/* double at .offset: options_parse_seconds, within
			 * [.min_s, .max_s] when .max_s is not 0 */
	OPT_STRING,	/* const char * at .offset: argv's own string */
	OPT_PATH,	/* the same, not empty (a file or directory) */
	OPT_CUSTOM,	/* .parse does it all */
	OPT_HELP,	/* prints .usage's head, every group's options and
			 * its tail to stdout; the parse returns 1 */
};

/* What --help prints around the options. */
struct opt_usage {
	const char *head, *tail;
};

struct opt_spec;

/*
 * An OPT_CUSTOM option's value into target: 0; 1 when the option only
 * printed and the program has nothing more to do (--help); -EINVAL after
 * logging what is wrong (optspec_bad); -ENOMEM.
 */
typedef int (*opt_parse_fn)(const struct opt_spec *spec, const char *arg, void *target);

struct opt_spec {
	const char *name;	/* long name without "--"; OPT_NOTE: the label */
	char short_name;	/* 0: long only */
	const char *arg;	/* the argument's name in --help; NULL: none */
	const char *help;	/* lines separated by '\n', none at the end */
	enum opt_kind kind;
	size_t offset;		/* offsetof(target struct, field) */
	uint64_t min, max;	/* the number kinds */
	double min_s, max_s;	/* OPT_SECONDS: a narrower range; 0, 0: any */
	opt_parse_fn parse;	/* OPT_CUSTOM */
	const struct opt_usage *usage;	/* OPT_HELP */
};

/*
 * A spec's kind and the field its value goes into, for a table whose
 * values go into struct OPT_TARGET: define OPT_TARGET (the struct's tag)
 * before the table.
 */
#define SPEC_FIELD(f) offsetof(struct OPT_TARGET, f)
#define SPEC_SET(f) .kind = OPT_SET, .offset = SPEC_FIELD(f)
#define SPEC_CLEAR(f) .kind = OPT_CLEAR, .offset = SPEC_FIELD(f)
#define SPEC_NUMBER(k, f, lo, hi) .kind = k, .offset = SPEC_FIELD(f), .min = lo, .max = hi
/* lo, hi: 0, 0 for any number of seconds options_parse_seconds takes */
#define SPEC_SECONDS(f, lo, hi) \
	.kind = OPT_SECONDS, .offset = SPEC_FIELD(f), .min_s = lo, .max_s = hi
#define SPEC_STRING(f) .kind = OPT_STRING, .offset = SPEC_FIELD(f)
#define SPEC_PATH(f) .kind = OPT_PATH, .offset = SPEC_FIELD(f)
#define SPEC_CUSTOM(fn) .kind = OPT_CUSTOM, .parse = fn
#define SPEC_NOTE .kind = OPT_NOTE
#define SPEC_HELP(u) .kind = OPT_HELP, .usage = &(u)

/* A titled group of options in --help ("What to trace:"). */
struct opt_group {
	const char *title;
	const struct opt_spec *specs;
	size_t nspecs;
};

#define OPT_GROUP(title, specs) { title, specs, sizeof(specs) / sizeof((specs)[0]) }

/*
 * A whole number of plain digits (no sign, space or base prefix) in
 * [min, max]: 0, -EINVAL (not such a number) or -ERANGE (too large for
 * 64 bits, or outside the range).  Every number option goes through it.
 */
int options_parse_number(const char *arg, uint64_t min, uint64_t max, uint64_t *out);
/* Seconds as a plain decimal ("5", "0.5"), 0.001 to 1e9: 0, -EINVAL or
 * -ERANGE. */
int options_parse_seconds(const char *arg, double *out);

/* The one message of a bad value ("invalid --top 'x': why"): -EINVAL. */
int optspec_bad(const char *name, const char *arg, const char *why);
/* A number option's value: 0, or -EINVAL after saying which end it missed. */
int optspec_number(const struct opt_spec *spec, const char *arg, uint64_t min, uint64_t max,
		   uint64_t *out);

/*
 * Parse argv's options into target, up to the first argument that is no
 * option (a command's own options are its own).  given[] (one per spec,
 * groups in order; optspec_count of them) says which options appeared.
 * Returns 0 with *ret_optind at the first argument left, 1 when an option
 * only printed (--help), -EINVAL after logging (getopt prints its own complaints)
 * or -ENOMEM.  The parse is a function of argv alone: getopt's state is
 * reset first.
 */
int optspec_parse(const struct opt_group *groups, size_t ngroups, int argc, char **argv,
		  void *target, bool *given, int *ret_optind);
size_t optspec_count(const struct opt_group *groups, size_t ngroups);
/* Whether the option of that long name was given (given[] of a parse). */
bool optspec_given(const struct opt_group *groups, size_t ngroups, const bool *given,
		   const char *name);

/* Every group's options, their argument and help, in columns. */
void optspec_help(FILE *f, const struct opt_group *groups, size_t ngroups);

#endif /* LW_OPTSPEC_H */

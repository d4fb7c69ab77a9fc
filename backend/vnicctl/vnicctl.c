/* SPDX-License-Identifier: MIT */
/* vnicctl: command-line client of vnicd; one verbs table gives its usage, checks and dispatch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vnicd-config.h"
#include "vnicctl.h"
#include "verbs.h"

static G_GNUC_NORETURN G_GNUC_PRINTF(1, 2) void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vnicctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see vnicctl --help)\n");
	exit(VC_EXIT_USAGE);
}

/* ---------------------------------------------------------------- the tables, looked up */

/* Return: whether @v takes flag @f (the global ones aside). */
static bool verb_takes(const struct verb *v, enum flag_id f)
{
	for (unsigned k = 0; k < VERB_MAX_FLAGS && v->flags[k] != F_NONE; k++)
		if (v->flags[k] == f)
			return true;
	return false;
}

/* Return: the set of verbs (bit i: vc_verbs[i]) that take flag @f. */
static guint64 flag_owners(enum flag_id f)
{
	guint64 owners = 0;

	for (size_t i = 0; i < vc_nverbs; i++)
		if (verb_takes(&vc_verbs[i], f))
			owners |= (guint64)1 << i;
	return owners;
}

/* Return: whether the first word of verb name @name is @w (a word: no space in it). */
static bool first_word_is(const char *name, const char *w)
{
	size_t n = strcspn(name, " ");

	return !strchr(w, ' ') && strlen(w) == n && strncmp(name, w, n) == 0;
}

/* Return: whether verb names @a and @b start with the same word. */
static bool same_family(const char *a, const char *b)
{
	size_t n = strcspn(a, " ");

	return n == strcspn(b, " ") && strncmp(a, b, n) == 0;
}

/*
 * Return: whether verb name @name is the two words @w0 @w1 (@w1 may be NULL), or with @one_word,
 * the single word @w0.
 */
static bool name_is(const char *name, const char *w0, const char *w1, bool one_word)
{
	size_t n = strlen(w0);

	if (!first_word_is(name, w0))
		return false;
	if (one_word)
		return name[n] == '\0';
	return name[n] == ' ' && w1 && strcmp(name + n + 1, w1) == 0;
}

/* Return: the verb named @w0 @w1 (two words) or else @w0 (one word), or NULL. */
static const struct verb *verb_find(const char *w0, const char *w1)
{
	for (size_t i = 0; i < vc_nverbs; i++)
		if (name_is(vc_verbs[i].name, w0, w1, false))
			return &vc_verbs[i];
	for (size_t i = 0; i < vc_nverbs; i++)
		if (name_is(vc_verbs[i].name, w0, NULL, true))
			return &vc_verbs[i];
	return NULL;
}

/* Return: whether @w0 is the first word of any verb ("port"). */
static bool is_family(const char *w0)
{
	for (size_t i = 0; i < vc_nverbs; i++)
		if (first_word_is(vc_verbs[i].name, w0))
			return true;
	return false;
}

/* Return: the flag spelled @a, or -1. */
static int flag_find(const char *a)
{
	for (int f = F_NONE + 1; f < N_FLAGS; f++)
		if (strcmp(a, vc_flags[f].name) == 0 || g_strcmp0(a, vc_flags[f].alias) == 0)
			return f;
	return -1;
}

/* ---------------------------------------------------------------- --help */

#define HELP_COLUMN 33 /* where the description of a command starts */

/* A verb's lines in --help: its forms (or usage), then what it does from HELP_COLUMN on. */
static void print_verb(const struct verb *v)
{
	const char *text = v->forms ? v->forms : v->usage, *l, *e;
	int len = 0;

	for (l = text;; l = e + 1) {
		e = strchrnul(l, '\n');
		if (l != text)
			putchar('\n');
		if (*l == ' ') /* a continuation: under the arguments */
			len = printf("%*s%.*s", (int)strlen(v->name) + 2, "", (int)(e - l), l);
		else
			len = printf("  %s%s%.*s", v->name, e > l ? " " : "", (int)(e - l), l);
		if (!*e)
			break;
	}
	if (v->attrs & V_READ)
		len += printf(" [--json]");
	if (len <= HELP_COLUMN - 2)
		printf("%*s", HELP_COLUMN - len, "");
	else
		printf("\n%*s", HELP_COLUMN, "");
	for (l = v->help;; l = e + 1) {
		e = strchrnul(l, '\n');
		printf("%*s%.*s\n", l != v->help ? HELP_COLUMN : 0, "", (int)(e - l), l);
		if (!*e)
			break;
	}
}

/*
 * --help: with a command before it (the positional arguments so far, @pos), that command's
 * lines (or those of its family: "port"); else every command.
 */
static void print_help(GPtrArray *pos)
{
	const char *w0 = pos->len > 0 ? pos->pdata[0] : NULL;
	const char *w1 = pos->len > 1 ? pos->pdata[1] : NULL;
	const struct verb *v = w0 && w1 ? verb_find(w0, w1) : NULL;

	if (v && strchr(v->name, ' ')) {
		print_verb(v);
		return;
	}
	if (w0 && is_family(w0)) {
		for (size_t i = 0; i < vc_nverbs; i++)
			if (first_word_is(vc_verbs[i].name, w0))
				print_verb(&vc_verbs[i]);
		return;
	}
	printf("usage: vnicctl [--socket PATH] [--json] COMMAND\ncommands:\n");
	for (size_t i = 0; i < vc_nverbs; i++)
		print_verb(&vc_verbs[i]);
	printf("options of every command:\n");
	for (int f = F_NONE + 1; f < N_FLAGS; f++)
		if (vc_flags[f].global)
			printf("  %s%s%s%s\n", vc_flags[f].name, vc_flags[f].alias ? ", " : "",
			       vc_flags[f].alias ? vc_flags[f].alias : "",
			       vc_flags[f].type == FT_SWITCH ? "" : " VALUE");
	printf("The socket defaults to $VNICD_SOCKET or /run/vnicd/vnicd.sock.\n"
	       "COMMAND --help shows one command, e.g. vnicctl port --help.\n");
}

/* Print flag @f as --commands lists it: its name, and '=' when it takes a value. */
static void print_flag_word(enum flag_id f, bool *first)
{
	printf("%s%s%s", *first ? "" : " ", vc_flags[f].name,
	       vc_flags[f].type == FT_SWITCH ? "" : "=");
	*first = false;
}

/*
 * --commands: the verbs table for scripts (bash completion, the manual's test), one verb a
 * line: "NAME<TAB>FLAGS<TAB>USAGE", FLAGS separated by spaces with '=' after those taking a
 * value; a first line "*<TAB>FLAGS" has the flags of every command.
 */
static void print_commands(void)
{
	bool first = true;

	printf("*\t");
	for (int f = F_NONE + 1; f < N_FLAGS; f++)
		if (vc_flags[f].global && f != F_COMMANDS)
			print_flag_word(f, &first);
	printf("\n");
	for (size_t i = 0; i < vc_nverbs; i++) {
		const struct verb *v = &vc_verbs[i];

		first = true;
		printf("%s\t", v->name);
		for (unsigned k = 0; k < VERB_MAX_FLAGS && v->flags[k] != F_NONE; k++)
			print_flag_word(v->flags[k], &first);
		printf("\t%s\n", v->usage);
	}
}

/* ---------------------------------------------------------------- reading the command line */

/* Return: @v of flag @opt as a whole number 0..G_MAXINT32; a usage error if it is not one. */
static gint64 parse_uint(const char *opt, const char *v)
{
	guint64 n;

	if (!v || !g_ascii_string_to_unsigned(v, 10, 0, G_MAXINT32, &n, NULL))
		usage_error("%s needs a whole number, got '%s'", opt, v ? v : "");
	return (gint64)n;
}

/* Return: "on"/"off" (or true/false, yes/no) @v of flag @opt; a usage error otherwise. */
static bool parse_onoff(const char *opt, const char *v)
{
	if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes"))
		return true;
	if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no"))
		return false;
	usage_error("%s takes on or off, not '%s'", opt, v);
}

/*
 * Read @argv into @c's flags and the positional arguments @pos: flags may come anywhere, a
 * value is the next argument whatever it looks like. Exits on a usage error, and after --help
 * or --version.
 */
static void parse_argv(int argc, char **argv, struct call *c, GPtrArray *pos)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		int f = flag_find(a);

		if (f < 0 && a[0] == '-' && a[1] == '-')
			usage_error("unknown option '%s'", a);
		if (f < 0) {
			g_ptr_array_add(pos, (gpointer)a);
			continue;
		}
		if (f == F_HELP) {
			print_help(pos);
			exit(0);
		}
		if (f == F_COMMANDS) {
			print_commands();
			exit(0);
		}
		if (f == F_VERSION) {
			printf("vnicctl %s\n", VNICD_VERSION);
			exit(0);
		}
		if (vc_flags[f].type == FT_SWITCH)
			val = vc_flags[f].name;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			usage_error("%s needs a value", a);
		if (vc_flags[f].type == FT_UINT)
			parse_uint(a, val);
		for (int g = F_NONE + 1; g < N_FLAGS; g++)
			if (g != f && c->val[g] && vc_flags[f].key &&
			    g_strcmp0(vc_flags[g].key, vc_flags[f].key) == 0)
				usage_error("%s and %s contradict each other", vc_flags[g].name, a);
		c->val[f] = val;
	}
}

/*
 * The command the positional arguments @pos start with; *@words: how many words its name
 * has. Exits with a usage error when there is none.
 */
static const struct verb *find_verb(GPtrArray *pos, unsigned *words)
{
	const char *w0 = pos->len > 0 ? pos->pdata[0] : NULL;
	const char *w1 = pos->len > 1 ? pos->pdata[1] : NULL;
	const struct verb *v;

	if (!w0)
		usage_error("no command given");
	if (pos->len > 2) { /* three words: "nat forward add" */
		g_autofree char *w12 = g_strdup_printf("%s %s", w1, (const char *)pos->pdata[2]);
		v = verb_find(w0, w12);
		if (v && strchr(v->name, ' ') != strrchr(v->name, ' ')) {
			*words = 3;
			return v;
		}
	}
	v = verb_find(w0, w1);
	if (v) {
		*words = strchr(v->name, ' ') ? 2 : 1;
		return v;
	}
	if (!is_family(w0))
		usage_error("unknown command '%s'", w0);
	if (!w1)
		usage_error("'%s' needs a subcommand", w0);
	usage_error("unknown command '%s %s'", w0, w1);
}

/* Return: @items as "a", "a and b", "a, b and c", each between @quote. */
static char *join_and(GPtrArray *items, const char *quote)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < items->len; i++)
		g_string_append_printf(s, "%s%s%s%s",
				       i == 0		     ? ""
				       : i + 1 == items->len ? " and "
							     : ", ",
				       quote, (const char *)items->pdata[i], quote);
	return g_string_free(s, FALSE);
}

/* Return: whether verb name @n extends one in @names by a word ("stats reset" of "stats"). */
static bool extends_any(GPtrArray *names, const char *n)
{
	for (guint k = 0; k < names->len; k++) {
		size_t l = strlen(names->pdata[k]);

		if (strncmp(n, names->pdata[k], l) == 0 && n[l] == ' ')
			return true;
	}
	return false;
}

/*
 * Refuse flag @f, which @v does not take: name it with the other flags of the same commands
 * (once per request member: --lock-mac stands for --no-lock-mac too) and those commands
 * ("stats" stands for "stats reset" too); a flag that commands of several families take
 * (--net) is said not to apply to @v.
 */
static G_GNUC_NORETURN void refuse_flag(const struct verb *v, enum flag_id f)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	g_autoptr(GPtrArray) owners = g_ptr_array_new();
	g_autofree char *flag_list = NULL, *owner_list = NULL;
	guint64 set = flag_owners(f);

	for (size_t i = 0; i < vc_nverbs; i++) {
		const char *n = vc_verbs[i].name;

		if (!(set & ((guint64)1 << i)))
			continue;
		if (owners->len && !same_family(owners->pdata[0], n))
			/* one-word commands with the space vnicctl has always printed: 'ping ' */
			usage_error("%s does not apply to '%s%s'", vc_flags[f].name, v->name,
				    strchr(v->name, ' ') ? "" : " ");
		if (!extends_any(owners, n))
			g_ptr_array_add(owners, (gpointer)n);
	}
	for (int g = F_NONE + 1; g < N_FLAGS; g++) {
		bool seen = false;

		if (vc_flags[g].global || flag_owners(g) != set)
			continue;
		for (int h = F_NONE + 1; h < g && vc_flags[g].key; h++)
			seen |= flag_owners(h) == set &&
				g_strcmp0(vc_flags[h].key, vc_flags[g].key) == 0;
		if (!seen)
			g_ptr_array_add(names, (gpointer)vc_flags[g].name);
	}
	flag_list = join_and(names, "");
	owner_list = join_and(owners, "'");
	usage_error("%s belong%s to %s", flag_list, names->len == 1 ? "s" : "", owner_list);
}

/*
 * Check call @c of @v against the table, in this order: the number of arguments, a flag it
 * needs, the values of its on|off flags, the flags of other commands. Exits on a usage error.
 */
static void check_call(const struct verb *v, const struct call *c)
{
	bool any = false;

	if (c->nargs < v->min_args)
		usage_error("usage: %s %s", v->name, v->usage);
	if (c->nargs > v->max_args)
		usage_error("unexpected argument '%s'", c->args[v->max_args]);
	for (unsigned k = 0; k < VERB_MAX_FLAGS && v->flags[k] != F_NONE; k++)
		any |= c->val[v->flags[k]] != NULL;
	if (v->needs_flag && !any && *v->needs_flag)
		usage_error("%s", v->needs_flag);
	else if (v->needs_flag && !any)
		usage_error("usage: %s %s", v->name, v->usage);
	for (unsigned k = 0; k < VERB_MAX_FLAGS && v->flags[k] != F_NONE; k++)
		if (vc_flags[v->flags[k]].type == FT_ONOFF && c->val[v->flags[k]])
			parse_onoff(vc_flags[v->flags[k]].name, c->val[v->flags[k]]);
	if (v->attrs & V_LENIENT)
		return;
	for (int f = F_NONE + 1; f < N_FLAGS; f++)
		if (c->val[f] && !vc_flags[f].global && !verb_takes(v, f))
			refuse_flag(v, f);
}

/* ---------------------------------------------------------------- the commands */

/* Add flag @f's member with value @val (as its type says) to the object @b is building. */
static void add_flag(JsonBuilder *b, enum flag_id f, const char *val)
{
	guint64 num;

	json_builder_set_member_name(b, vc_flags[f].key);
	switch (vc_flags[f].type) {
	case FT_SWITCH:
		json_builder_add_boolean_value(b, !vc_flags[f].negates);
		break;
	case FT_UINT:
		json_builder_add_int_value(b, parse_uint(vc_flags[f].name, val));
		break;
	case FT_ONOFF:
		json_builder_add_boolean_value(b, parse_onoff(vc_flags[f].name, val));
		break;
	case FT_VLAN:
		if (g_ascii_string_to_unsigned(val, 10, 0, 65535, &num, NULL))
			json_builder_add_int_value(b, (gint64)num);
		else
			json_builder_add_string_value(b, val);
		break;
	case FT_STRING:
		json_builder_add_string_value(b, val);
		break;
	}
}

/*
 * The request line of @v: {"args": {ARG_KEYS..., FLAGS...}, "cmd": CMD} with the positional
 * arguments first, then the flags given in the order @v lists them.
 */
static char *request_line(const struct verb *v, const struct call *c)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *req = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "args");
	json_builder_begin_object(b);
	for (unsigned i = 0; i < c->nargs; i++) {
		json_builder_set_member_name(b, v->arg_keys[i]);
		json_builder_add_string_value(b, c->args[i]);
	}
	for (unsigned k = 0; k < VERB_MAX_FLAGS && v->flags[k] != F_NONE; k++)
		if (c->val[v->flags[k]] && vc_flags[v->flags[k]].key)
			add_flag(b, v->flags[k], c->val[v->flags[k]]);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "cmd");
	json_builder_add_string_value(b, v->cmd);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	req = json_generator_to_data(gen, NULL);
	return g_strdup_printf("%s\n", req);
}

/* The handler of most commands: one request, its result printed. Return: the exit status. */
int vc_run_request(const struct verb *v, const struct call *c)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *line = request_line(v, c);
	JsonNode *root = vc_transact(c->sock, line, parser, -1), *res;
	JsonObject *ro;

	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		fprintf(stderr, "vnicctl: malformed answer from vnicd\n");
		return 1;
	}
	ro = json_node_get_object(root);
	if (!json_object_get_boolean_member_with_default(ro, "ok", FALSE)) {
		fprintf(stderr, "vnicctl: error: %s\n", vc_str(ro, "error", "unknown error"));
		return 1;
	}
	res = json_object_get_member(ro, "result");
	if (c->val[F_JSON])
		vc_print_json(res);
	else if (v->render && res && !JSON_NODE_HOLDS_NULL(res))
		v->render(res, c->val[F_DETAIL] != NULL);
	return 0;
}

/* Return: whole-number flag @f of @c, or -1 when not given. */
static gint64 uint_flag(const struct call *c, enum flag_id f)
{
	return c->val[f] ? parse_uint(vc_flags[f].name, c->val[f]) : -1;
}

/* capture PORT --out FILE [--count N] [--duration S] [--snaplen N]. Return: the exit status. */
int vc_run_capture(const struct verb *v, const struct call *c)
{
	gint64 count = uint_flag(c, F_COUNT), duration = uint_flag(c, F_DURATION);

	if (!c->val[F_OUT])
		usage_error("capture needs --out FILE.pcapng");
	if (count == 0 || duration == 0)
		usage_error("--count and --duration must be at least 1");
	return vc_capture(c->sock, c->args[0], c->val[F_OUT], count, duration,
			  uint_flag(c, F_SNAPLEN), c->val[F_JSON] != NULL);
}

/* top [--once]: see top.c. Return: the exit status. */
int vc_run_top(const struct verb *v, const struct call *c)
{
	return vc_top(c->sock, c->val[F_ONCE] != NULL, c->val[F_JSON] != NULL);
}

/* vnicctl [--socket PATH] [--json] COMMAND...: see print_help(). Return: the exit status. */
int main(int argc, char **argv)
{
	g_autoptr(GPtrArray) pos = g_ptr_array_new();
	struct call c = {0};
	const struct verb *v;
	unsigned words;

	parse_argv(argc, argv, &c, pos);
	v = find_verb(pos, &words);
	c.args = (const char *const *)pos->pdata + words;
	c.nargs = pos->len - words;
	c.sock = c.val[F_SOCKET]	    ? c.val[F_SOCKET]
		 : g_getenv("VNICD_SOCKET") ? g_getenv("VNICD_SOCKET")
					    : "/run/vnicd/vnicd.sock";
	check_call(v, &c);
	return v->run(v, &c);
}
